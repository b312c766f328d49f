"""The compiled trigger table fires every procedure exactly as ``transitions`` itself does.

Random walks over every procedure version of the catalogue, with allowed and refused triggers,
good and bad payloads and different actors, are fired twice: through the compiled table and
through ``transitions``' own ``Event.trigger``. The outcome (control-sheet row or error, and the
whole dossier afterwards) must be the same.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from transitions import Machine

from tests.conftest import VN
from workflow.catalogue import Catalogue
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.engine import Engine
from workflow.errors import TransitionError
from workflow.machine import ProcedureMachine, _compile

PAYLOADS: tuple[dict[str, Any] | None, ...] = (
    None,
    {"documents": ["site_plan"]},
    {"documents": "site_plan"},
    {"amount": 100_000},
    {"amount": -5},
    {"receipt": "BL-0001", "amount": 100_000},
    {"receipt": "BL-0001", "amount": 1},
    {"result": "KQ-0001", "electronic": True},
    {"result": "", "electronic": "yes"},
    {"reason": "the applicant withdrew"},
)
#: a payload each trigger accepts (drawn most of the time)
GOOD: dict[str, dict[str, Any]] = {
    "supply": {"documents": ["site_plan"]},
    "request_fee": {"amount": 100_000},
    "pay_fee": {"receipt": "BL-0001", "amount": 100_000},
    "finish": {"result": "KQ-0001", "electronic": True},
    "withdraw": {"reason": "the applicant withdrew"},
}
#: triggers that end a dossier early: drawn less often
ENDINGS = frozenset({"withdraw", "stop", "refuse"})
ACTORS = (
    Actor("officer-1", "000.00.71.H26", role="officer"),
    Actor("chairman", "000.00.71.H26", role="chairman"),
    Actor("officer-2", "000.09.71.H26", role="officer"),
)


def _snapshot(dossier: Dossier) -> dict[str, object]:
    return {name: copy.deepcopy(getattr(dossier, name)) for name in Dossier.__slots__}


def _outcome(
    machine: ProcedureMachine,
    dossier: Dossier,
    trigger: str,
    actor: Actor,
    at: dt.datetime,
    payload: Any,
) -> tuple[str, object]:
    try:
        event: ControlEvent = machine.fire(dossier, trigger, actor=actor, at=at, payload=payload)
    except TransitionError as error:
        return type(error).__name__, str(error)
    return "fired", event


@pytest.fixture(scope="module")
def pairs(catalogue: Catalogue) -> dict[str, tuple[ProcedureMachine, ProcedureMachine]]:
    """Each procedure version's compiled machine and a reference machine without the table."""
    found = {}
    for code in catalogue.codes():
        for definition in catalogue.versions(code):
            ours = catalogue.machine(definition.code, definition.version)
            reference = ProcedureMachine(definition, catalogue.registry, compiled=False)
            found[f"{definition.code}@{definition.version}"] = (ours, reference)
    return found


def test_every_catalogue_machine_runs_from_the_compiled_table(
    pairs: dict[str, tuple[ProcedureMachine, ProcedureMachine]],
) -> None:
    assert pairs
    assert all(ours.compiled and not reference.compiled for ours, reference in pairs.values())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_compiled_and_transitions_agree_on_random_walks(
    data: st.DataObject,
    pairs: dict[str, tuple[ProcedureMachine, ProcedureMachine]],
    engine: Engine,
) -> None:
    key = data.draw(st.sampled_from(sorted(pairs)), label="procedure")
    ours, reference = pairs[key]
    definition = ours.definition
    triggers = tuple(sorted({t.trigger for t in definition.transitions} | {"no_such_trigger"}))
    papers = [d.kind for d in definition.documents]
    documents = data.draw(st.sampled_from([papers, papers[:1], []]), label="documents")
    first = engine.open(
        code="TEST-1",
        procedure=definition.code,
        version=definition.version,
        channel=definition.channels[0],
        applicant_ref="REF-1",
        actor=ACTORS[0],
        documents=documents,
        received_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN),
    )
    second = copy.deepcopy(first)
    at = first.received_at
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        allowed = ours.allowed_triggers(first.state)
        onward = tuple(t for t in allowed if t not in ENDINGS)
        # mostly triggers that move on, so that walks get far; sometimes anything
        choice = data.draw(st.integers(0, 9))
        pool = onward if onward and choice < 8 else allowed if allowed and choice < 9 else triggers
        trigger = data.draw(st.sampled_from(pool))
        at_agency = Actor("officer-3", first.agency, role="officer")
        actor = at_agency if data.draw(st.integers(0, 3)) else data.draw(st.sampled_from(ACTORS))
        good = {"documents": papers} if trigger == "accept" else GOOD.get(trigger)
        payload = good if data.draw(st.integers(0, 3)) else data.draw(st.sampled_from(PAYLOADS))
        at += dt.timedelta(hours=data.draw(st.integers(0, 30)))
        expected = _outcome(reference, second, trigger, actor, at, copy.deepcopy(payload))
        got = _outcome(ours, first, trigger, actor, at, copy.deepcopy(payload))
        assert got == expected, (key, trigger, payload)
        assert _snapshot(first) == _snapshot(second)
    event(f"ended in status {first.status.name}")


def _plain(**extra: Any) -> Machine:
    return Machine(
        model=None,
        states=["a", "b"],
        transitions=[{"trigger": "go", "source": "a", "dest": "b", **extra}],
        initial="a",
        auto_transitions=False,
        send_event=True,
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"after": [lambda event: None]},
        {"prepare": [lambda event: None]},
        {"conditions": [lambda event: True]},  # not one of ours: nothing to call on a firing
        {"before": [lambda event: None]},
    ],
    ids=["after", "prepare", "foreign condition", "foreign before"],
)
def test_a_machine_using_other_features_is_not_compiled(extra: dict[str, Any]) -> None:
    assert _compile(_plain()) is not None
    assert _compile(_plain(**extra)) is None


def test_machine_wide_and_state_callbacks_keep_transitions_in_charge() -> None:
    machine = _plain()
    machine.finalize_event = [lambda event: None]
    assert _compile(machine) is None
    machine = _plain()
    machine.get_state("b").on_enter.append(lambda event: None)
    assert _compile(machine) is None
