"""The shared machine: allowed triggers, guards, actions, and no half-applied state."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from procedures import load_agencies
from tests.conftest import VN
from workflow.catalogue import Catalogue
from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine
from workflow.errors import (
    ActionFailed,
    GuardRejected,
    InvalidDossier,
    InvalidPayload,
    NaiveDatetime,
    TriggerNotAllowed,
    UnknownProcedure,
)
from workflow.firing import Firing
from workflow.registry import DEFAULT_REGISTRY, Registry

BIRTH = "1.001193"
PAPERS = ["declaration", "birth_certificate"]


def _snapshot(dossier: Dossier) -> dict[str, object]:
    return {name: copy.deepcopy(getattr(dossier, name)) for name in Dossier.__slots__}


def _birth(engine: Engine, officer: Actor, **kwargs: object) -> Dossier:
    return engine.open(
        code="000.00.71.H26-260302-0001",
        procedure=BIRTH,
        channel=kwargs.pop("channel", "online"),  # type: ignore[arg-type]
        applicant_ref="REF-1",
        actor=officer,
        **kwargs,  # type: ignore[arg-type]
    )


def test_one_machine_per_version_shared_by_every_dossier(
    catalogue: Catalogue, engine: Engine, officer: Actor
) -> None:
    first = _birth(engine, officer, documents=PAPERS)
    second = _birth(engine, officer, documents=PAPERS)
    engine.fire(first, "accept", actor=officer)
    machine = catalogue.machine(BIRTH, "2025")
    assert machine is catalogue.machine(BIRTH, "2025")
    assert machine.machine.models == []  # the machine holds no dossier
    assert first.state == "accepted" and second.state == "submitted"
    assert not any(name.startswith("to_") for name in machine.machine.events)  # no auto_transitions


def test_state_is_a_plain_attribute(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer, documents=PAPERS)
    assert type(dossier).__dict__["state"].__class__.__name__ == "member_descriptor"
    assert isinstance(dossier.state, str)


def test_version_is_the_one_in_force_on_the_day_of_receipt(engine: Engine, officer: Actor) -> None:
    before = _birth(engine, officer, received_at=dt.datetime(2025, 6, 30, 16, 0, tzinfo=VN))
    after = _birth(engine, officer, received_at=dt.datetime(2025, 7, 1, 8, 0, tzinfo=VN))
    assert (before.procedure_version, before.agency) == ("2018", "000.21.07.H26")
    assert (after.procedure_version, after.agency) == ("2025", "000.00.71.H26")
    with pytest.raises(UnknownProcedure, match="not in force on 2010-01-01"):
        _birth(engine, officer, received_at=dt.datetime(2010, 1, 1, 8, 0, tzinfo=VN))


def test_trigger_not_allowed_names_dossier_state_trigger_and_allowed(
    engine: Engine, officer: Actor
) -> None:
    dossier = _birth(engine, officer, documents=PAPERS)
    before = _snapshot(dossier)
    with pytest.raises(TriggerNotAllowed) as caught:
        engine.fire(dossier, "finish", actor=officer)
    message = str(caught.value)
    assert dossier.code in message and "'submitted'" in message and "'finish'" in message
    assert caught.value.allowed == ("accept", "refuse", "request_supplement", "withdraw")
    assert "accept, refuse, request_supplement, withdraw" in message
    assert _snapshot(dossier) == before


def test_unknown_trigger_is_not_allowed(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer)
    with pytest.raises(TriggerNotAllowed, match="'to_returned' is not allowed"):
        engine.fire(dossier, "to_returned", actor=officer)


def test_guard_rejection_leaves_the_dossier_unchanged(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer, documents=["declaration"])
    before = _snapshot(dossier)
    with pytest.raises(GuardRejected) as caught:
        engine.fire(dossier, "accept", actor=officer)
    assert caught.value.reasons == (
        "documents_complete: required documents missing: birth_certificate",
    )
    assert _snapshot(dossier) == before
    # the papers arrive with the trigger: now it passes
    engine.fire(dossier, "accept", actor=officer, payload={"documents": ["birth_certificate"]})
    assert dossier.state == "accepted"
    assert dossier.documents == ("declaration", "birth_certificate")


def test_refusal_needs_a_reason(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer)
    with pytest.raises(GuardRejected, match="a note stating the reason is required"):
        engine.fire(dossier, "refuse", actor=officer, note="  ")
    engine.fire(dossier, "refuse", actor=officer, note="not the place of residence")
    assert dossier.status is NationalStatus.NOT_ACCEPTED and dossier.closed
    assert engine.allowed_triggers(dossier) == ()


def test_invalid_payload_leaves_the_dossier_unchanged(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer)
    before = _snapshot(dossier)
    with pytest.raises(InvalidPayload, match="payload field 'documents' must be a list"):
        engine.fire(dossier, "accept", actor=officer, payload={"documents": "birth_certificate"})
    assert _snapshot(dossier) == before


def _raising_catalogue(catalogue: Catalogue, definition: ProcedureDefinition) -> Catalogue:
    def explode(firing: Firing) -> None:
        firing.changes["supplement_requests"] = 99
        raise RuntimeError("disk on fire")

    actions = dict(DEFAULT_REGISTRY.actions, attach_documents=explode)
    registry = Registry(guards=DEFAULT_REGISTRY.guards, actions=actions)
    return Catalogue([definition], load_agencies(), registry)


def test_an_action_that_raises_leaves_no_half_applied_state(
    catalogue: Catalogue, clock: object, officer: Actor
) -> None:
    definition = catalogue.get(BIRTH, version="2025")
    engine = Engine(_raising_catalogue(catalogue, definition), clock)  # type: ignore[arg-type]
    dossier = _birth(engine, officer, documents=PAPERS)
    before = _snapshot(dossier)
    with pytest.raises(ActionFailed, match="disk on fire") as caught:
        engine.fire(dossier, "accept", actor=officer)
    assert "nothing was changed" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert _snapshot(dossier) == before
    assert dossier.state == "submitted" and dossier.supplement_requests == 0


def test_every_change_appends_a_control_sheet_row(
    engine: Engine, officer: Actor, clock: object
) -> None:
    dossier = _birth(engine, officer, documents=PAPERS)
    clock.advance(minutes=30)  # type: ignore[attr-defined]
    chairman = Actor("chairman", "000.00.71.H26", role="chairman")
    engine.fire(dossier, "accept", actor=officer)
    engine.fire(dossier, "hand_over", actor=officer)
    engine.fire(dossier, "hand_over", actor=officer, note="for signature")
    engine.fire(dossier, "finish", actor=chairman, payload={"result": "TRICH-LUC-1"})
    rows = dossier.history
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    last = rows[-1]
    assert (last.trigger, last.from_state, last.to_state) == ("finish", "signing", "finished")
    assert (last.actor, last.actor_agency, last.step, last.to_step) == (
        "chairman",
        "000.00.71.H26",
        "signing",
        "return",
    )
    assert rows[3].note == "for signature"
    assert rows[1].at == dt.datetime(2026, 3, 2, 9, 30, tzinfo=VN)
    assert dossier.result_ref == "TRICH-LUC-1" and not dossier.result_electronic


def test_supplement_at_reception_does_not_count_as_a_processing_request(
    engine: Engine, officer: Actor
) -> None:
    dossier = _birth(engine, officer, documents=["declaration"])
    engine.fire(dossier, "request_supplement", actor=officer, note="birth certificate missing")
    assert dossier.status is NationalStatus.SUPPLEMENT_REQUESTED
    engine.fire(dossier, "supply", actor=officer, payload={"documents": ["birth_certificate"]})
    engine.fire(dossier, "accept", actor=officer)
    assert dossier.supplement_requests == 0


def test_a_second_supplement_request_is_recorded(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer, documents=PAPERS)
    engine.fire(dossier, "accept", actor=officer)
    engine.fire(dossier, "hand_over", actor=officer)
    for _ in range(2):
        engine.fire(dossier, "request_supplement", actor=officer, note="unclear copy")
        engine.fire(dossier, "supply", actor=officer, payload={"documents": ["copy"]})
    assert dossier.supplement_requests == 2


def test_fee_must_be_paid_in_full(engine: Engine, officer: Actor) -> None:
    dossier = engine.open(
        code="C-1",
        procedure="2.000815",
        channel="counter",
        applicant_ref="R",
        actor=officer,
        documents=["original", "copy"],
    )
    engine.fire(dossier, "accept", actor=officer)
    engine.fire(dossier, "hand_over", actor=officer)
    with pytest.raises(InvalidPayload, match="'amount' must be a positive whole number"):
        engine.fire(dossier, "request_fee", actor=officer, payload={"amount": -5})
    engine.fire(dossier, "request_fee", actor=officer, payload={"amount": 6000})
    assert dossier.status is NationalStatus.FEE_REQUESTED
    with pytest.raises(GuardRejected, match="at least the fee due \\(6000\\)"):
        engine.fire(dossier, "pay_fee", actor=officer, payload={"receipt": "B1", "amount": 2000})
    engine.fire(dossier, "pay_fee", actor=officer, payload={"receipt": "B1", "amount": 6000})
    assert dossier.fee_paid and dossier.status is NationalStatus.PROCESSING


def test_withdraw_and_stop(engine: Engine, officer: Actor) -> None:
    withdrawn = _birth(engine, officer, documents=PAPERS)
    engine.fire(withdrawn, "withdraw", actor=officer)
    assert withdrawn.status is NationalStatus.WITHDRAWN and withdrawn.closed
    stopped = _birth(engine, officer, documents=PAPERS)
    engine.fire(stopped, "accept", actor=officer)
    with pytest.raises(GuardRejected):
        engine.fire(stopped, "stop", actor=officer)
    engine.fire(stopped, "stop", actor=officer, note="the applicant died")
    assert stopped.status is NationalStatus.STOPPED


def test_open_rejects_bad_input(engine: Engine, officer: Actor) -> None:
    with pytest.raises(InvalidDossier, match="not offered via 'post'; offered: online, counter"):
        _birth(engine, officer, channel="post")
    with pytest.raises(InvalidDossier, match="unknown channel 'fax'"):
        _birth(engine, officer, channel="fax")
    with pytest.raises(NaiveDatetime, match="has no timezone"):
        _birth(engine, officer, received_at=dt.datetime(2026, 3, 2, 9, 0))
    with pytest.raises(UnknownProcedure, match=r"unknown procedure code '9\.999999'"):
        engine.open(
            code="X", procedure="9.999999", channel="online", applicant_ref="R", actor=officer
        )
    dossier = _birth(engine, officer)
    with pytest.raises(NaiveDatetime, match="has no timezone"):
        engine.fire(dossier, "withdraw", actor=officer, at=dt.datetime(2026, 3, 2, 10, 0))


def test_a_copy_equals_its_dossier_and_changes_apart(engine: Engine, officer: Actor) -> None:
    dossier = _birth(engine, officer, documents=PAPERS)
    engine.fire(dossier, "accept", actor=officer)
    dossier.applicant_id, dossier.version = "001099012345", 3
    twin = dossier.copy()
    assert _snapshot(twin) == _snapshot(dossier)  # every field, applicant_id and version too
    assert twin.history is not dossier.history
    engine.fire(twin, "hand_over", actor=officer)
    assert len(twin.history) == len(dossier.history) + 1
    assert dossier.state == "accepted" and twin.state == "registration"
