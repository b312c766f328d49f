"""Dossiers routed between agencies end to end: outbox, relay, signed envelopes, inbox, receipts.

Each test runs on the embedded pair (SQLite store, durable SQL transport) and on the production
pair (PostgreSQL store, RabbitMQ); the latter need ``LIENTHONG_TEST_DATABASE_URL`` and
``LIENTHONG_TEST_BROKER_URL``. Every test uses its own queue prefix and schema or file.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.bus.keys import load_signers
from adapters.bus.kombu_bus import Handled, KombuBus, Outcome
from adapters.bus.routing import Routing
from adapters.bus.signing import Signer
from adapters.store import tables as t
from adapters.store.store import SqlStore
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from tests.integration.conftest import broker_url, postgres_store, sqlite_store
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.messages import Envelope, Service
from workflow.services import Act, Submit, act, submit, transfer

LINKED = "2.000986"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
WARD, POLICE, INSURANCE = "000.00.71.H26", "000.09.71.H26", "000.08.71.H26"


@dataclass
class Net:
    """A store, a bus, a clock, and routing over them."""

    store: SqlStore
    bus: KombuBus
    clock: FixedClock
    engine: Engine
    keys: Path

    def routing(self, agencies: list[str] | None = None) -> Routing:
        """Routing of ``agencies`` (default: the three of the linked procedure)."""
        served = agencies or [WARD, POLICE, INSURANCE]
        return Routing(self.store, self.engine, self.bus, self.keys, served, create_keys=True)

    def settle(self, routing: Routing | None = None, rounds: int = 4) -> None:
        """Step until nothing moves (or ``rounds`` steps)."""
        routing = routing or self.routing()
        routing.declare()
        for _ in range(rounds):
            report = routing.step(idle=0.3)
            if not report.handled and not report.relayed.published:
                return

    def submit(self, officer: Actor) -> str:
        command = Submit(LINKED, "online", "REF", officer, documents=PAPERS)
        return submit(command, self.store.unit_of_work(), self.engine).code

    def act(self, code: str, trigger: str, agency: str, **payload: object) -> None:
        actor = Actor("officer", agency)
        note = "thiếu giấy tờ" if trigger == "request_supplement" else None
        command = Act(code, trigger, actor, note=note, payload=payload)
        act(command, self.store.unit_of_work(), self.engine)

    def to_police(self, code: str, agency: str = WARD) -> None:
        """Accept, register the birth, hand over to the police."""
        for trigger in ("accept", "hand_over", "hand_over"):
            self.act(code, trigger, agency)

    def outbox(self) -> list[dict[str, object]]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(t.outbox).order_by(t.outbox.c.id)).mappings()
            return [dict(row) for row in rows]

    def inbox(self) -> list[dict[str, object]]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(t.inbox).order_by(t.inbox.c.received_at)).mappings()
            return [dict(row) for row in rows]

    def events(self, code: str) -> int:
        with self.store.engine.connect() as connection:
            query = select(func.count()).where(t.events.c.dossier_code == code)
            return int(connection.execute(query).scalar_one())


@pytest.fixture(params=["embedded", "rabbitmq"])
def net(request: pytest.FixtureRequest, tmp_path: Path, catalogue: Catalogue) -> Iterator[Net]:
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN))
    engine = Engine(catalogue, clock, load_calendar())
    prefix = f"lt-route-{uuid.uuid4().hex[:10]}"
    if request.param == "embedded":
        store, drop = sqlite_store(tmp_path), None
        bus = KombuBus(
            f"lienthong+sqlite:///{tmp_path / 'bus.sqlite3'}", prefix=prefix, visibility_timeout=2
        )
    else:
        url = broker_url()
        store, drop = postgres_store(request.getfixturevalue("pg_database"))
        bus = KombuBus(url, prefix=prefix)
    yield Net(store, bus, clock, engine, tmp_path / "keys")
    bus.unsubscribe()
    with bus.connection.channel() as channel:  # deleting a queue never declared is cheap
        for agency in catalogue.agencies:
            for queue in (bus.queue(agency.code), bus.dead_queue(agency.code)):
                queue.bind(channel).delete()
    bus.close()
    store.close()
    if drop is not None:
        drop()


def test_a_linked_dossier_travels_three_agencies_with_receipts(net: Net, officer: Actor) -> None:
    code = net.submit(officer)
    net.to_police(code)  # birth registration -> police (message 1)
    net.settle()
    net.act(code, "hand_over", POLICE)  # residence -> insurance (message 2)
    net.settle()
    net.act(code, "finish", INSURANCE, result="KQ-1", electronic=True)  # result -> ward (3)
    net.settle()
    net.act(code, "return_result", WARD)

    sent = net.outbox()
    assert [(m["from_agency"], m["to_agency"], m["service"]) for m in sent] == [
        (WARD, POLICE, "handover"),
        (POLICE, INSURANCE, "handover"),
        (INSURANCE, WARD, "result"),
    ]
    assert all(m["acknowledged_at"] is not None for m in sent)  # every receipt came back
    assert all(m["undeliverable_at"] is None and m["attempts"] == 1 for m in sent)
    received = net.inbox()
    assert [r["message_id"] for r in received] == [m["message_id"] for m in sent]
    assert [r["to_agency"] for r in received] == [POLICE, INSURANCE, WARD]
    assert all(r["dossier_code"] == code for r in received)
    for agency in (WARD, POLICE, INSURANCE):
        assert net.bus.dead_letters(agency) == []


def test_a_supplement_request_travels_back_to_reception(net: Net, officer: Actor) -> None:
    code = net.submit(officer)
    net.to_police(code)
    net.act(code, "request_supplement", POLICE)
    net.settle()
    assert [(m["service"], m["to_agency"]) for m in net.outbox()] == [
        ("handover", POLICE),
        ("supplement_request", WARD),
    ]
    assert sorted(r["service"] for r in net.inbox()) == ["handover", "supplement_request"]
    assert all(m["acknowledged_at"] is not None for m in net.outbox())


def _signed(net: Net, sender: str, **changes: object) -> Envelope:
    net.routing().declare()  # creates the keys
    [signer] = load_signers(net.keys, [sender]).values()
    fields: dict[str, object] = {
        "from_agency": sender,
        "to_agency": POLICE,
        "service": Service.HANDOVER,
        "dossier_code": str(changes.pop("dossier_code")),
        "created": net.clock.now(),
        "ttl": dt.timedelta(days=2),
        "key_id": signer.key_id,
        "body": {"seq": 3, "trigger": "hand_over"},
    }
    fields.update(changes)
    return signer.sign(Envelope.draft(**fields))  # type: ignore[arg-type]


def test_a_message_delivered_twice_is_applied_once_and_receipted_twice(
    net: Net, officer: Actor
) -> None:
    code = net.submit(officer)
    routing = net.routing([POLICE])
    routing.declare()
    envelope = _signed(net, WARD, dossier_code=code)
    net.bus.publish(envelope.to_json(), POLICE)
    net.bus.publish(envelope.to_json(), POLICE)  # the broker (or the relay) repeats itself
    assert routing.step(idle=0.3).handled == 2
    [row] = net.inbox()
    assert row["message_id"] == envelope.message_id
    receipts: list[bytes] = []

    def keep(_: str, raw: bytes) -> Handled:
        receipts.append(raw)
        return Handled(Outcome.DONE)

    net.bus.consume(WARD, keep, idle=0.3)
    assert len(receipts) == 2 and receipts[0] == receipts[1]  # the original receipt, again
    receipt = Envelope.model_validate_json(receipts[0])
    assert receipt.service is Service.RECEIPT and receipt.body["message_id"] == row["message_id"]
    assert net.bus.dead_letters(POLICE) == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered", "bad_signature"),
        ("replayed", "replay"),
        ("expired", "expired"),
        ("wrong_sender", "not_allowed"),
        ("unknown_key", "unknown_key"),
        ("malformed", "malformed"),
        ("unknown_dossier", "unknown_dossier"),
    ],
)
def test_bad_envelopes_go_to_the_dead_letter_queue_and_change_nothing(
    net: Net, officer: Actor, case: str, reason: str
) -> None:
    code = net.submit(officer)
    routing = net.routing([POLICE])
    routing.declare()
    good = _signed(net, WARD, dossier_code=code)
    if case == "replayed":  # first the genuine message, then its id reused for other content
        net.bus.publish(good.to_json(), POLICE)
        routing.step(idle=0.3)
        raw = _signed(net, WARD, dossier_code=code, message_id=good.message_id, body={"x": 1})
        raw_bytes = raw.to_json()
    elif case == "tampered":
        raw_bytes = good.model_copy(update={"step": "forged"}).to_json()
    elif case == "expired":
        raw_bytes = _signed(
            net, WARD, dossier_code=code, created=net.clock.now() - dt.timedelta(days=3)
        ).to_json()
    elif case == "wrong_sender":  # the insurance agency may not hand over to the police
        raw_bytes = _signed(net, INSURANCE, dossier_code=code).to_json()
    elif case == "unknown_key":
        stranger, _ = Signer.generate(WARD)
        raw_bytes = stranger.sign(good).to_json()
    elif case == "malformed":
        raw_bytes = b'{"message_id": "not a message"'
    else:
        raw_bytes = _signed(net, WARD, dossier_code="000.00.71.H26-260302-9999").to_json()
    before = (net.inbox(), net.events(code))
    net.bus.publish(raw_bytes, POLICE)
    assert routing.step(idle=0.3).handled == 1
    assert (net.inbox(), net.events(code)) == before  # no state changed
    [(dead, why)] = net.bus.dead_letters(POLICE)
    assert dead == raw_bytes and why.startswith(reason + ":")


def test_a_lost_broker_connection_loses_nothing(net: Net, officer: Actor) -> None:
    routing = net.routing()
    routing.declare()
    codes = [net.submit(officer) for _ in range(3)]
    for code in codes:
        net.to_police(code)
    routing.relay.run_once()
    net.bus.connection.close()  # the connection drops mid-run
    for code in codes:
        net.act(code, "hand_over", POLICE)
    net.settle(routing, rounds=8)
    assert net.bus.reconnects >= 1
    assert len(net.inbox()) == 6
    assert all(m["acknowledged_at"] is not None for m in net.outbox())


def test_a_reorganisation_hands_open_dossiers_and_messages_to_the_successor(
    net: Net, officer: Actor
) -> None:
    old_ward, old_police, new_police = "000.21.07.H26", "000.09.21.H26", POLICE
    net.clock.set(dt.datetime(2025, 6, 30, 10, 0, tzinfo=VN))
    clerk = Actor("clerk", old_ward)
    code = submit(
        Submit(LINKED, "counter", "REF", clerk, documents=PAPERS),
        net.store.unit_of_work(),
        net.engine,
    ).code
    net.to_police(code, old_ward)  # to the district police, the day before it goes
    old = Routing(net.store, net.engine, net.bus, net.keys, [old_ward], create_keys=True)
    old.declare()
    old.relay.run_once()  # published to the old police queue, not yet taken: in flight
    with net.store.unit_of_work() as uow:
        due = uow.dossiers.get(code).due_at

    net.clock.set(dt.datetime(2025, 7, 1, 8, 0, tzinfo=VN))
    event = transfer(code, Actor("system", new_police), net.store.unit_of_work(), net.engine)
    assert event is not None and (event.agency, event.to_agency) == (old_police, new_police)
    successor = net.routing([new_police])
    assert set(successor.queues) >= {new_police, old_police}
    ward = net.routing([WARD])  # the old ward's successor takes its receipts
    for _ in range(3):
        ward.step(idle=0.2)
        successor.step(idle=0.2)
    received = net.inbox()
    assert sorted((r["from_agency"], r["to_agency"]) for r in received) == [
        (old_police, new_police),  # the transfer itself
        (old_ward, new_police),  # the in-flight hand-over, taken by the successor
    ]
    with net.store.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
    assert dossier.agency == new_police and dossier.due_at == due  # clock intact
    assert [e.trigger for e in dossier.history] == [
        "receive",
        "accept",
        "hand_over",
        "hand_over",
        "transfer",
    ]
    assert all(m["acknowledged_at"] is not None for m in net.outbox())
    # work goes on at the successor; the next step's old agency is replaced too
    net.act(code, "hand_over", new_police)
    with net.store.unit_of_work() as uow:
        assert uow.dossiers.get(code).agency == INSURANCE


WORKER = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from adapters.bus.kombu_bus import KombuBus
    from adapters.bus.routing import Routing
    from adapters.store.database import make_engine
    from adapters.store.pii import Keyring
    from adapters.store.store import SqlStore
    from procedures import load_catalogue
    from procedures.calendar_file import load_calendar
    from tests.conftest import VN, FixedClock
    from workflow.engine import Engine

    store_url, schema, bus_url, prefix, keys = sys.argv[1:6]
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    store = SqlStore(store_url, Keyring(bytes(range(32))), make_engine(store_url, **options))
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN))
    engine = Engine(load_catalogue(), clock, load_calendar())
    bus = KombuBus(bus_url, prefix=prefix, visibility_timeout=2)
    routing = Routing(store, engine, bus, __import__("pathlib").Path(keys), ["000.09.71.H26"])
    handle = routing.receiver.handle_batch

    def handle_then_die(items):
        outcome = handle(items)  # the inbox row is committed ...
        print("recorded", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # ... and the process dies before its ack

    routing.receiver.handle_batch = handle_then_die
    routing.step(idle=5)
    """
)


def test_a_consumer_killed_before_its_ack_applies_the_message_once(
    net: Net, officer: Actor
) -> None:
    code = net.submit(officer)
    net.to_police(code)
    ward = net.routing([WARD])
    ward.declare()
    net.routing([POLICE]).declare()
    ward.relay.run_once()  # the hand-over waits on the police queue
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    child = subprocess.run(
        [sys.executable, "-c", WORKER, *_child_args(net)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.strip() == "recorded"
    assert len(net.inbox()) == 1  # the effect committed, the message not acknowledged
    time.sleep(2.5)  # the embedded transport's visibility timeout; RabbitMQ requeues at once
    police = net.routing([POLICE])
    for _ in range(4):
        police.step(idle=0.5)
        ward.step(idle=0.2)
    assert len(net.inbox()) == 1  # delivered again, recognised, not applied twice
    [sent] = net.outbox()
    assert sent["acknowledged_at"] is not None  # the original receipt, sent again
    assert net.bus.dead_letters(POLICE) == []


RELAY_KILLED = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from pathlib import Path
    from adapters.bus.kombu_bus import KombuBus
    from adapters.bus.routing import Routing
    from adapters.store.database import make_engine
    from adapters.store.pii import Keyring
    from adapters.store.store import SqlStore
    from procedures import load_catalogue
    from procedures.calendar_file import load_calendar
    from tests.conftest import VN, FixedClock
    from workflow.dossier import Actor
    from workflow.engine import Engine
    from workflow.services import Act, act

    store_url, schema, bus_url, prefix, keys, code, moment = sys.argv[1:8]
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    store = SqlStore(store_url, Keyring(bytes(range(32))), make_engine(store_url, **options))
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN))
    engine = Engine(load_catalogue(), clock, load_calendar())
    ward = "000.00.71.H26"
    act(Act(code, "hand_over", Actor("officer", ward)), store.unit_of_work(), engine)
    if moment == "after-commit":  # the change and its message are committed; nothing published
        os.kill(os.getpid(), signal.SIGKILL)
    bus = KombuBus(bus_url, prefix=prefix, visibility_timeout=2)
    routing = Routing(store, engine, bus, Path(keys), [ward])
    publish_many = bus.publish_many

    def publish_then_die(messages):
        publish_many(messages)  # on the queue, but the outbox row never learns it
        os.kill(os.getpid(), signal.SIGKILL)

    bus.publish_many = publish_then_die
    routing.relay.run_once()
    """
)


@pytest.mark.parametrize("moment", ["after-commit", "after-publish"])
def test_a_process_killed_around_the_publish_loses_nothing_and_applies_once(
    net: Net, officer: Actor, moment: str
) -> None:
    """Killed after the commit and before the publish: the next relay publishes. Killed after
    the publish and before the outbox records it: the next relay publishes again, and the
    receiver's inbox applies the message once."""
    code = net.submit(officer)
    for trigger in ("accept", "hand_over"):
        net.act(code, trigger, WARD)
    ward, police = net.routing([WARD]), net.routing([POLICE])
    ward.declare()
    police.declare()
    child = subprocess.run(
        [sys.executable, "-c", RELAY_KILLED, *_child_args(net), code, moment],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    [pending] = net.outbox()
    assert pending["published_at"] is None and pending["attempts"] == 0
    net.clock.advance(minutes=1)
    for _ in range(3):
        ward.step(idle=0.3)
        police.step(idle=0.3)
    [delivered] = net.outbox()
    assert delivered["acknowledged_at"] is not None and delivered["attempts"] == 1
    assert len(net.inbox()) == 1  # one copy or two on the queue: recorded once
    assert net.bus.dead_letters(POLICE) == []


def _child_args(net: Net) -> list[str]:
    with net.store.engine.connect() as connection:
        schema = (
            connection.exec_driver_sql("SHOW search_path").scalar()
            if connection.dialect.name == "postgresql"
            else ""
        )
    return [net.store.url, str(schema or ""), net.bus.url, net.bus.prefix, str(net.keys)]
