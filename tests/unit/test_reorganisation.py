"""The reorganisation of 1 July 2025 in the engine: hand-overs and open dossiers go to the
successor agency, with the dossier's clock and history intact."""

from __future__ import annotations

import datetime as dt

from tests.conftest import VN, FixedClock
from tests.unit.walk import open_dossier
from workflow.catalogue import Catalogue
from workflow.dossier import Actor, Dossier
from workflow.engine import TRANSFER, Engine
from workflow.messages import Service, messages_for

OLD_WARD, OLD_POLICE, NEW_POLICE = "000.21.07.H26", "000.09.21.H26", "000.09.71.H26"
OLD_INSURANCE, NEW_INSURANCE = "000.08.07.H26", "000.08.71.H26"


def _linked_2018(
    catalogue: Catalogue, engine: Engine, clock: FixedClock, officer: Actor
) -> Dossier:
    clock.set(dt.datetime(2025, 6, 30, 9, 0, tzinfo=VN))
    dossier = open_dossier(engine, catalogue.get("2.000986", version="2018"), officer)
    for trigger in ("accept", "hand_over", "hand_over"):
        engine.fire(dossier, trigger, actor=Actor("o", OLD_WARD))
    return dossier


def test_an_open_dossier_is_transferred_with_its_clock(
    catalogue: Catalogue, engine: Engine, clock: FixedClock, officer: Actor
) -> None:
    dossier = _linked_2018(catalogue, engine, clock, officer)
    assert dossier.agency == OLD_POLICE
    due, rows = dossier.due_at, len(dossier.history)
    assert engine.transfer(dossier, actor=Actor("system", NEW_POLICE)) is None  # still in force

    clock.set(dt.datetime(2025, 7, 1, 8, 0, tzinfo=VN))
    event = engine.transfer(dossier, actor=Actor("system", NEW_POLICE))
    assert event is not None and event.trigger == TRANSFER
    assert (event.agency, event.to_agency) == (OLD_POLICE, NEW_POLICE)
    assert event.from_state == event.to_state and event.step == event.to_step
    assert dossier.agency == NEW_POLICE and dossier.due_at == due
    assert len(dossier.history) == rows + 1
    [message] = messages_for(dossier, event, OLD_WARD)
    assert (message.service, message.from_agency, message.to_agency) == (
        Service.HANDOVER,
        OLD_POLICE,
        NEW_POLICE,
    )
    assert engine.transfer(dossier, actor=Actor("system", NEW_POLICE)) is None  # done once


def test_a_hand_over_to_a_replaced_agency_goes_to_its_successor(
    catalogue: Catalogue, engine: Engine, clock: FixedClock, officer: Actor
) -> None:
    dossier = _linked_2018(catalogue, engine, clock, officer)
    clock.set(dt.datetime(2025, 7, 2, 9, 0, tzinfo=VN))
    event = engine.fire(dossier, "hand_over", actor=Actor("o", NEW_POLICE))
    assert event.to_agency == NEW_INSURANCE != OLD_INSURANCE
    assert dossier.agency == NEW_INSURANCE and dossier.history[-1] == event


def test_a_supplement_request_goes_to_the_successor_of_the_reception(
    catalogue: Catalogue, engine: Engine, clock: FixedClock, officer: Actor
) -> None:
    dossier = _linked_2018(catalogue, engine, clock, officer)  # at the old police office
    clock.set(dt.datetime(2025, 7, 1, 8, 0, tzinfo=VN))
    engine.transfer(dossier, actor=Actor("system", NEW_POLICE))
    event = engine.fire(dossier, "request_supplement", actor=Actor("o", NEW_POLICE), note="x")
    reception = engine.reception_of(dossier)
    assert (
        reception != OLD_WARD
        and reception == catalogue.agencies.successor_on(OLD_WARD, dt.date(2025, 7, 1)).code
    )
    [message] = messages_for(dossier, event, reception)
    assert (message.service, message.from_agency, message.to_agency) == (
        Service.SUPPLEMENT_REQUEST,
        NEW_POLICE,
        reception,
    )
