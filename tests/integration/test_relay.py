"""The outbox relay: published after commit, signed, retried until acknowledged, never dropped."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.bus.kombu_bus import Handled, KombuBus, Outcome
from adapters.bus.relay import Backoff, Relay
from adapters.bus.signing import KeyRegistry, Signer, routes_of
from adapters.store import tables as t
from adapters.store.store import SqlStore
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.services import Act, Submit, act, submit

WARD, POLICE = "000.00.71.H26", "000.09.71.H26"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
PAIRS = {agency: Signer.generate(agency) for agency in (WARD, POLICE, "000.08.71.H26")}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN))


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[KombuBus]:
    bus = KombuBus(
        f"lienthong+sqlite:///{tmp_path / 'bus.sqlite3'}", prefix=f"lt-{uuid.uuid4().hex[:8]}"
    )
    yield bus
    bus.close()


def _handover(sql: SqlStore, catalogue: Catalogue, clock: FixedClock) -> str:
    engine = Engine(catalogue, clock, load_calendar())
    officer = Actor("officer", WARD)
    code = submit(
        Submit("2.000986", "online", "R", officer, documents=PAPERS), sql.unit_of_work(), engine
    ).code
    for trigger in ("accept", "hand_over", "hand_over"):  # the last one: ward -> police
        act(Act(code, trigger, officer), sql.unit_of_work(), engine)
    return code


def _relay(sql: SqlStore, bus: KombuBus, clock: FixedClock, **options: object) -> Relay:
    signers = {agency: signer for agency, (signer, _) in PAIRS.items()}
    return Relay(
        sql.engine, bus, signers, clock, backoff=Backoff(first=dt.timedelta(seconds=10)), **options
    )  # type: ignore[arg-type]


def _received(bus: KombuBus, agency: str) -> list[bytes]:
    seen: list[bytes] = []
    bus.consume(agency, lambda _, raw: (seen.append(raw), Handled(Outcome.DONE))[1], idle=0.3)
    return seen


def _outbox(sql: SqlStore) -> list[dict[str, object]]:
    with sql.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(t.outbox)).mappings()]


def test_a_committed_handover_is_published_signed(
    sql: SqlStore, bus: KombuBus, catalogue: Catalogue, clock: FixedClock
) -> None:
    code = _handover(sql, catalogue, clock)
    relay = _relay(sql, bus, clock)
    assert relay.run_once().published == 1
    [raw] = _received(bus, POLICE)
    registry = KeyRegistry(
        [key for _, key in PAIRS.values()], routes_of(catalogue.versions("2.000986"))
    )
    envelope = registry.admit(raw, clock.now())
    assert (envelope.dossier_code, envelope.from_agency, envelope.to_agency) == (code, WARD, POLICE)
    assert envelope.body["to_state"] == "residence_registration"
    [row] = _outbox(sql)
    assert row["attempts"] == 1 and row["published_at"] is not None


def test_unacknowledged_messages_are_sent_again_then_marked_undeliverable(
    sql: SqlStore, bus: KombuBus, catalogue: Catalogue, clock: FixedClock
) -> None:
    _handover(sql, catalogue, clock)
    relay = _relay(sql, bus, clock, max_attempts=3)
    assert relay.run_once().published == 1
    assert relay.run_once().published == 0  # not due again yet
    clock.advance(seconds=10)
    assert relay.run_once().published == 1  # no receipt: once more (the inbox drops copies)
    clock.advance(seconds=20)
    report = relay.run_once()
    assert (report.published, report.undeliverable) == (1, 1)
    clock.advance(hours=1)
    assert relay.run_once().published == 0  # undeliverable: left for a supervisor, not dropped
    [row] = _outbox(sql)
    assert row["undeliverable_at"] is not None and row["attempts"] == 3
    assert len(_received(bus, POLICE)) == 3


def test_an_acknowledged_message_is_not_sent_again(
    sql: SqlStore, bus: KombuBus, catalogue: Catalogue, clock: FixedClock
) -> None:
    _handover(sql, catalogue, clock)
    relay = _relay(sql, bus, clock)
    relay.run_once()
    [row] = _outbox(sql)
    assert relay.acknowledge(str(row["message_id"]))
    assert not relay.acknowledge(str(row["message_id"]))
    clock.advance(hours=1)
    assert relay.run_once().published == 0


def test_a_broker_that_is_down_loses_nothing(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock, bus: KombuBus
) -> None:
    _handover(sql, catalogue, clock)
    down = KombuBus("amqp://guest:guest@127.0.0.1:1//", prefix="lt-down")
    relay = _relay(sql, down, clock)
    report = relay.run_once()
    assert (report.published, report.failed) == (0, 1)
    [row] = _outbox(sql)
    assert row["published_at"] is None and row["attempts"] == 1
    down.close()
    clock.advance(seconds=10)  # the broker is back: the same message goes out
    assert _relay(sql, bus, clock).run_once().published == 1
    assert len(_received(bus, POLICE)) == 1
