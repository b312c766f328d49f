"""Every procedure file: its happy path and its supplement path, end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from procedures.loader import catalogue_files, read_definition
from tests.conftest import VN, FixedClock
from tests.unit.walk import open_dossier, walk
from workflow.catalogue import Catalogue
from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import Actor
from workflow.engine import Engine

FILES = catalogue_files()


def _definition(catalogue: Catalogue, path_name: str, clock: FixedClock) -> ProcedureDefinition:
    """The file's definition; the clock set to a week after it came into force, when its
    agencies were in force (a hand-over to an agency replaced since goes to its successor)."""
    code, version = path_name.removesuffix(".yaml").split("@")
    definition = catalogue.get(code, version=version)
    day = definition.effective_from + dt.timedelta(days=7)
    clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=VN))
    return definition


def test_every_file_is_in_the_catalogue(catalogue: Catalogue) -> None:
    assert len(FILES) == len(catalogue) >= 10
    for path in FILES:
        definition, problems = read_definition(path)
        assert problems == []
        assert definition is not None
        assert path.name == f"{definition.code}@{definition.version}.yaml"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_happy_path(
    path: object, catalogue: Catalogue, engine: Engine, officer: Actor, clock: FixedClock
) -> None:
    definition = _definition(catalogue, path.name, clock)  # type: ignore[attr-defined]
    dossier = open_dossier(engine, definition, officer)
    assert dossier.status is NationalStatus.SUBMITTED_ONLINE

    fired = walk(engine, dossier, officer, supplement=False)

    assert dossier.state == "returned"
    assert dossier.status is NationalStatus.RESULT_RETURNED
    assert dossier.closed
    assert dossier.supplement_requests == 0
    assert dossier.result_ref == "KQ-0001" and dossier.result_electronic
    assert [e.trigger for e in dossier.history] == ["receive", *fired]
    # the dossier visited every step's agency, in step order
    visited = list(dict.fromkeys(e.to_agency for e in dossier.history))
    assert visited == list(dict.fromkeys(s.agency for s in definition.steps))
    steps = list(dict.fromkeys(e.to_step for e in dossier.history))
    assert steps == [s.id for s in definition.steps]
    statuses = {e.status for e in dossier.history}
    assert {NationalStatus.ACCEPTED, NationalStatus.PROCESSING, NationalStatus.FINISHED} <= statuses
    assert NationalStatus.SUPPLEMENT_REQUESTED not in statuses
    if any(s.name.endswith("_fee") for s in definition.states):
        assert dossier.fee_paid and dossier.fee_due == 100_000


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_supplement_path(
    path: object, catalogue: Catalogue, engine: Engine, officer: Actor, clock: FixedClock
) -> None:
    definition = _definition(catalogue, path.name, clock)  # type: ignore[attr-defined]
    dossier = open_dossier(engine, definition, officer)

    fired = walk(engine, dossier, officer, supplement=True)

    assert dossier.state == "returned"
    assert dossier.supplement_requests == 1
    assert "site_plan" in dossier.documents
    index = fired.index("request_supplement")
    assert fired[index + 1] == "supply"
    request, supply = dossier.history[index + 1], dossier.history[index + 2]
    assert request.status is NationalStatus.SUPPLEMENT_REQUESTED
    assert request.note == "the site plan is missing"
    assert supply.from_state == request.to_state
    assert supply.to_state == request.from_state  # back to the step that asked
    assert supply.status is NationalStatus.PROCESSING


def test_linked_procedure_hands_over_between_three_agencies(
    catalogue: Catalogue, engine: Engine, officer: Actor
) -> None:
    definition = catalogue.get("2.000986", version="2025")
    dossier = open_dossier(engine, definition, officer)
    walk(engine, dossier, officer, supplement=False)

    handovers = [(e.agency, e.to_agency) for e in dossier.handovers()]
    assert handovers == [
        ("000.00.71.H26", "000.09.71.H26"),  # ward justice -> ward police (residence)
        ("000.09.71.H26", "000.08.71.H26"),  # police -> social insurance (card)
        ("000.08.71.H26", "000.00.71.H26"),  # social insurance -> ward counter (return)
    ]
    assert len(set(definition.agencies)) == 3
