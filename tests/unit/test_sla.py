"""The SLA clock: due instants, pauses, per-step verdicts, at risk, apology and reset."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from adapters.clock import SystemClock
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from workflow.catalogue import Catalogue
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine
from workflow.errors import DueResetRefused, InvalidDossier
from workflow.sla import Standing, Verdict

LINKED = "2.000986"
LINKED_PAPERS = ["birth_declaration", "birth_certificate", "residence_declaration"]


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN)  # type: ignore[misc]


@pytest.fixture
def sla_engine(catalogue: Catalogue) -> Engine:
    return Engine(catalogue, FixedClock(at(2026, 3, 2, 8, 30)), load_calendar())


def linked(engine: Engine, officer: Actor) -> Dossier:
    dossier = engine.open(
        code="000.00.71.H26-260302-0001",
        procedure=LINKED,
        channel="counter",
        applicant_ref="REF",
        actor=officer,
        documents=LINKED_PAPERS,
    )
    engine.fire(dossier, "accept", actor=officer, at=at(2026, 3, 2, 9))
    return dossier


def test_clock_starts_on_acceptance_and_due_is_set(sla_engine: Engine, officer: Actor) -> None:
    dossier = sla_engine.open(
        code="X",
        procedure=LINKED,
        channel="online",
        applicant_ref="R",
        actor=officer,
        documents=LINKED_PAPERS,
    )
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 2, 9))
    assert clock.standing is Standing.NOT_STARTED and clock.due_at is None
    assert dossier.due_at is None
    sla_engine.fire(dossier, "accept", actor=officer, at=at(2026, 3, 2, 9))
    assert dossier.due_at == at(2026, 3, 5, 9)  # 3 working days: Thu 09:00
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 2, 10))
    assert clock.started_at == at(2026, 3, 2, 9)
    assert clock.standing is Standing.ON_TRACK
    assert clock.remaining_hours == 23


def test_each_hand_over_gets_its_own_verdict(sla_engine: Engine, officer: Actor) -> None:
    dossier = linked(sla_engine, officer)
    fire = sla_engine.fire
    fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 9, 15))  # to birth registration
    fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 11))  # 1.75 h of 3 h: on time
    fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 16))  # police: 4 h of 12 h: early
    fire(dossier, "finish", actor=officer, payload={"result": "KQ"}, at=at(2026, 3, 4, 10))
    fire(dossier, "return_result", actor=officer, at=at(2026, 3, 4, 11))

    steps = {s.step: s for s in sla_engine.steps_of(dossier, at=at(2026, 3, 5, 9))}
    assert list(steps) == [
        "reception",
        "birth_registration",
        "residence_registration",
        "health_insurance",
        "return",
    ]
    assert steps["birth_registration"].verdict is Verdict.ON_TIME
    assert steps["birth_registration"].due_at == at(2026, 3, 2, 13, 15)
    assert steps["residence_registration"].verdict is Verdict.EARLY
    assert steps["residence_registration"].used_hours == 4
    # social insurance: 7 h from Mon 16:00, due Tue 15:00; done Wed 10:00: late
    assert steps["health_insurance"].due_at == at(2026, 3, 3, 15)
    assert steps["health_insurance"].verdict is Verdict.LATE
    assert steps["health_insurance"].agency == "000.08.71.H26"
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 5, 9))
    assert clock.verdict is Verdict.EARLY  # done Wed, due Thu
    assert clock.finished_at == at(2026, 3, 4, 10)


def test_supplement_pauses_the_clock_and_moves_the_due(sla_engine: Engine, officer: Actor) -> None:
    dossier = linked(sla_engine, officer)
    sla_engine.fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 9, 30))
    sla_engine.fire(
        dossier, "request_supplement", actor=officer, note="unsigned form", at=at(2026, 3, 2, 10)
    )
    paused = sla_engine.clock_of(dossier, at=at(2026, 3, 3, 10))
    assert paused.standing is Standing.PAUSED
    step = sla_engine.steps_of(dossier, at=at(2026, 3, 3, 10))[-1]
    assert step.standing is Standing.PAUSED
    sla_engine.fire(
        dossier,
        "supply",
        actor=officer,
        payload={"documents": ["signed_form"]},
        at=at(2026, 3, 4, 10),
    )  # paused 2 working days
    assert dossier.due_at == at(2026, 3, 9, 9)  # Thu 5th + 2 working days (weekend skipped)
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 4, 11))
    assert clock.paused_hours == 16
    assert len(clock.pauses) == 1


def test_a_second_supplement_request_makes_the_dossier_late(
    sla_engine: Engine, officer: Actor
) -> None:
    dossier = linked(sla_engine, officer)
    sla_engine.fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 9, 30))
    for hour in (10, 14):
        sla_engine.fire(
            dossier, "request_supplement", actor=officer, note="again", at=at(2026, 3, 2, hour)
        )
        sla_engine.fire(dossier, "supply", actor=officer, at=at(2026, 3, 2, hour, 30))
    for _ in range(2):
        sla_engine.fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 2, 16))
    sla_engine.fire(
        dossier, "finish", actor=officer, payload={"result": "KQ"}, at=at(2026, 3, 3, 9)
    )
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 3, 9))
    assert dossier.supplement_requests == 2
    assert clock.finished_at is not None and clock.finished_at < clock.due_at  # type: ignore[operator]
    assert clock.verdict is Verdict.LATE  # Decision 766: more than one supplement request


def test_at_risk_overdue_and_the_apology_deadline(sla_engine: Engine, officer: Actor) -> None:
    dossier = linked(sla_engine, officer)  # due Thu 5 March 09:00, 24 working hours
    assert sla_engine.clock_of(dossier, at=at(2026, 3, 4, 12)).standing is Standing.ON_TRACK
    risky = sla_engine.clock_of(dossier, at=at(2026, 3, 4, 13, 30))  # 4.5 h < 20% of 24 h
    assert risky.standing is Standing.AT_RISK and risky.owes_apology
    assert risky.apology_due_by == at(2026, 3, 4, 9)  # one working day before the due
    late = sla_engine.clock_of(dossier, at=at(2026, 3, 5, 10))
    assert late.standing is Standing.OVERDUE
    assert late.remaining_hours == -1
    steps = sla_engine.steps_of(dossier, at=at(2026, 3, 5, 10))
    assert steps[-1].step == "reception" and steps[-1].standing is Standing.OVERDUE


def test_the_return_date_may_be_reset_once(sla_engine: Engine, officer: Actor) -> None:
    dossier = linked(sla_engine, officer)
    chief = Actor("chief", "000.00.71.H26", role="supervisor")
    with pytest.raises(InvalidDossier, match="must be later than the current one"):
        sla_engine.apologise(
            dossier, new_due=at(2026, 3, 4, 9), actor=chief, note="sorry", at=at(2026, 3, 3, 9)
        )
    with pytest.raises(InvalidDossier, match="must state its reason"):
        sla_engine.apologise(
            dossier, new_due=at(2026, 3, 10, 17), actor=chief, note=" ", at=at(2026, 3, 3, 9)
        )
    assert dossier.due_resets == 0 and len(dossier.history) == 2
    event = sla_engine.apologise(
        dossier,
        new_due=at(2026, 3, 10, 17),
        actor=chief,
        note="verification with the police",
        at=at(2026, 3, 3, 9),
    )
    assert event.trigger == "apologise" and event.from_state == event.to_state == "accepted"
    assert dossier.due_at == at(2026, 3, 10, 17) and dossier.due_resets == 1
    clock = sla_engine.clock_of(dossier, at=at(2026, 3, 5, 10))
    assert clock.standing is Standing.ON_TRACK and not clock.owes_apology
    with pytest.raises(DueResetRefused, match="it may be reset once only"):
        sla_engine.apologise(
            dossier, new_due=at(2026, 3, 12, 17), actor=chief, note="again", at=at(2026, 3, 9, 9)
        )
    assert dossier.due_at == at(2026, 3, 10, 17) and len(dossier.history) == 3


def test_pause_after_a_reset_moves_the_new_date(sla_engine: Engine, officer: Actor) -> None:
    dossier = linked(sla_engine, officer)
    sla_engine.apologise(
        dossier, new_due=at(2026, 3, 10, 17), actor=officer, note="late", at=at(2026, 3, 3, 9)
    )
    sla_engine.fire(dossier, "hand_over", actor=officer, at=at(2026, 3, 3, 10))
    sla_engine.fire(dossier, "request_supplement", actor=officer, note="x", at=at(2026, 3, 3, 11))
    sla_engine.fire(dossier, "supply", actor=officer, at=at(2026, 3, 3, 15))
    assert dossier.due_at == at(2026, 3, 11, 11)  # + 3 working hours: 11-12 and 13-15


def test_same_day_procedure_and_its_cutoff(sla_engine: Engine, officer: Actor) -> None:
    birth = sla_engine.open(
        code="B",
        procedure="1.001193",
        channel="counter",
        applicant_ref="R",
        actor=officer,
        documents=["declaration", "birth_certificate"],
        received_at=at(2026, 3, 2, 15, 30),
    )
    sla_engine.fire(birth, "accept", actor=officer, at=at(2026, 3, 2, 15, 30))
    assert birth.due_at == at(2026, 3, 3, 17)  # after 15:00: end of the next working day


def test_the_clock_reads_time_from_the_injected_clock_under_freezegun(
    catalogue: Catalogue, officer: Actor
) -> None:
    engine = Engine(catalogue, SystemClock(), load_calendar())
    with freeze_time("2026-03-02 02:00:00"):  # 09:00 in Hà Nội
        dossier = engine.open(
            code="F",
            procedure=LINKED,
            channel="online",
            applicant_ref="R",
            actor=officer,
            documents=LINKED_PAPERS,
        )
        engine.fire(dossier, "accept", actor=officer)
        assert dossier.history[-1].at == at(2026, 3, 2, 9)
    with freeze_time("2026-03-05 03:00:00"):  # Thursday 10:00: an hour late
        clock = engine.clock_of(dossier)
    assert clock.standing is Standing.OVERDUE and clock.remaining_hours == -1
