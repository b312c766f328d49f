"""Dossiers routed end to end between three agencies, against the transport's raw floor.

Each dossier of the linked birth + residence + health-insurance procedure (2.000986) goes, in
the timed part, from the ward's hand-over to the police, the police's hand-over to social
insurance, insurance's result back to the ward, and the ward's return of the result. Every
hand-over is a signed envelope from the outbox, published by the sender's relay, checked and
recorded once by the receiver's inbox, and answered by a signed receipt that the sender records:
six messages per dossier. Three workers (one per agency, each with its own bus connection) and
each agency's officer, acting at once on what arrives, run in one thread per agency.

The floor, in the same run and on the same transport: publish the same number of messages of
the same size (in batches of 100 under one confirm wait, as the relay does) and consume them
with a handler that does nothing.

    python -m benchmarks.bench_routing [--dossiers N] [--postgres URL] [--broker URL]
        [--skip-rabbitmq]

Embedded: SQLite store and the durable SQL transport, in a temporary folder. Production: a new
PostgreSQL database (dropped afterwards) and RabbitMQ with a fresh queue prefix (deleted).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.bus.kombu_bus import KombuBus
from adapters.bus.routing import Routing
from adapters.clock import SystemClock
from adapters.store import tables as t
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from benchmarks.args import count
from benchmarks.bench_store import DEFAULT_PG, postgres_database
from procedures import load_catalogue
from procedures.calendar_file import load_calendar
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.ports import Handled, Outcome
from workflow.services import Act, Submit, act, retrying, submit

LINKED = "2.000986"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
WARD, POLICE, INSURANCE = "000.00.71.H26", "000.09.71.H26", "000.08.71.H26"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
MESSAGES_PER_DOSSIER = 6  # three hand-overs (the last one the result) and three receipts


@dataclass(frozen=True)
class Result:
    setup: str
    dossiers: int
    seconds: float
    messages: int
    p50_ms: float
    p99_ms: float
    floor_messages_per_s: float

    @property
    def per_second(self) -> float:
        return self.dossiers / self.seconds

    @property
    def floor_dossiers_per_s(self) -> float:
        return self.floor_messages_per_s / MESSAGES_PER_DOSSIER


class _Arrivals:
    """Wraps a receiver: remembers which dossiers' hand-overs it recorded."""

    def __init__(self, routing: Routing) -> None:
        self.routing = routing
        self.codes: list[str] = []
        self.seen: set[str] = set()
        handle = routing.receiver.handle_batch

        def recorded(items: list[tuple[str, bytes]]) -> list[Handled]:
            results = handle(items)
            for (_, raw), result in zip(items, results, strict=True):
                if result.outcome is Outcome.DONE and b'"service":"receipt"' not in raw:
                    code = raw.split(b'"dossier_code":"', 1)[1].split(b'"', 1)[0]
                    self.codes.append(code.decode())
            return results

        routing.receiver.handle_batch = recorded  # type: ignore[method-assign]

    def take(self) -> list[str]:
        """Dossiers newly arrived (a copy of a message already received is not an arrival)."""
        codes, self.codes = self.codes, []
        fresh = [code for code in dict.fromkeys(codes) if code not in self.seen]
        self.seen.update(fresh)
        return fresh


def _prepare(store: SqlStore, engine: Engine, count: int) -> list[str]:
    """``count`` dossiers accepted at the ward, at the birth-registration step (not timed)."""
    officer = Actor("bench", WARD)
    codes = []
    for _ in range(count):
        command = Submit(LINKED, "online", "R", officer, documents=PAPERS)
        code = submit(command, store.unit_of_work(), engine).code
        for trigger in ("accept", "hand_over"):
            act(Act(code, trigger, officer), store.unit_of_work(), engine)
        codes.append(code)
    return codes


def _officer(store: SqlStore, engine: Engine, agency: str, code: str, trigger: str) -> None:
    payload = {"result": "KQ", "electronic": True} if trigger == "finish" else {}
    command = Act(code, trigger, Actor("bench", agency), payload=payload)
    retrying(lambda: act(command, store.unit_of_work(), engine))


#: what each agency's officer does when a dossier arrives there
NEXT = {POLICE: "hand_over", INSURANCE: "finish", WARD: "return_result"}


def _worker(
    agency: str, store_url: str, bus_url: str, prefix: str, keys: str, ready: Any, stop: Any
) -> None:
    """One agency's worker process: publish its outbox, handle its queue, and have its officer
    act at once on every dossier that arrives, until told to stop."""
    store = SqlStore(store_url, Keyring(bytes(range(32))))
    engine = Engine(load_catalogue(), SystemClock(), load_calendar())
    bus = KombuBus(bus_url, prefix=prefix)
    worker = _Arrivals(Routing(store, engine, bus, Path(keys), [agency]))
    worker.routing.declare()
    ready.wait()
    while not stop.is_set():
        worker.routing.step(idle=0.05, limit=200)
        for code in worker.take():
            _officer(store, engine, agency, code, NEXT[agency])
    bus.unsubscribe()
    bus.close()
    store.close()


def _route(store: SqlStore, engine: Engine, codes: list[str]) -> None:
    """The timed part: the ward hands every dossier over; returns once every result is
    returned and every message acknowledged (the workers do the rest)."""
    for code in codes:
        _officer(store, engine, WARD, code, "hand_over")
    # every dossier of the store is the benchmark's: count without naming them, and poll
    # sparingly, so that watching costs the workers little CPU
    waiting = select(func.count()).where(t.dossiers.c.state != "returned")
    unacknowledged = select(func.count()).where(t.outbox.c.acknowledged_at.is_(None))
    while True:
        with store.engine.connect() as connection:
            if (
                connection.execute(waiting).scalar_one() == 0
                and connection.execute(unacknowledged).scalar_one() == 0
            ):
                return
        time.sleep(0.05)


def _latencies(store: SqlStore) -> tuple[int, list[float]]:
    """Messages sent and received, and each hand-over's latency (commit to inbox) in ms."""
    box, inbox = t.outbox.c, t.inbox.c
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(box.created_at, inbox.received_at).join(
                t.inbox, inbox.message_id == box.message_id
            )
        ).all()
        acknowledged = connection.execute(
            select(box.message_id).where(box.acknowledged_at.is_not(None))
        ).all()
    latencies = [(received - created).total_seconds() * 1000 for created, received in rows]
    return len(rows) + len(acknowledged), latencies


def _floor(bus: KombuBus, count: int, size: int) -> float:
    """Raw publish + consume, messages per second, on the same transport."""
    agency = "floor.000"
    bus.declare(agency)
    payload = b"{" + b'"x":"' + b"a" * max(size - 8, 1) + b'"}'
    started = time.perf_counter()
    for first in range(0, count, 100):  # in batches, as the relay publishes
        assert all(bus.publish_many([(payload, agency)] * min(100, count - first)))
    seen = 0
    while seen < count:
        seen += bus.consume(agency, lambda _a, _r: Handled(Outcome.DONE), limit=count, idle=0.5)
    return count / (time.perf_counter() - started)


def bench(setup: str, store_url: str, bus_url: str, keys: Path, dossiers: int) -> Result:
    store = SqlStore(store_url, Keyring(bytes(range(32))))
    prefix = f"lt-bench-{uuid.uuid4().hex[:8]}"
    bus = KombuBus(bus_url, prefix=prefix)
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Barrier(4), context.Event()
    processes = []
    declared = [WARD, POLICE, INSURANCE, "floor.000"]
    try:
        store.upgrade()
        engine = Engine(load_catalogue(), SystemClock(), load_calendar())
        store.sync(engine.catalogue, engine.clock.now())
        # keys and queues exist before the workers start
        routing = Routing(store, engine, bus, keys, [WARD, POLICE, INSURANCE], create_keys=True)
        routing.declare()
        declared = [*routing.queues, "floor.000"]  # the agencies and their predecessors
        processes = [
            context.Process(
                target=_worker, args=(agency, store_url, bus_url, prefix, str(keys), ready, stop)
            )
            for agency in (WARD, POLICE, INSURANCE)
        ]
        for process in processes:
            process.start()
        ready.wait()
        _route(store, engine, _prepare(store, engine, 10))  # warm up
        codes = _prepare(store, engine, dossiers)
        started = time.perf_counter()
        _route(store, engine, codes)
        seconds = time.perf_counter() - started
        stop.set()
        for process in processes:
            process.join(timeout=30)
        messages, latencies = _latencies(store)
        with store.engine.connect() as connection:
            size = len(str(connection.execute(select(t.inbox.c.receipt)).first()))
        floor = _floor(bus, dossiers * MESSAGES_PER_DOSSIER, size)
        quantiles = statistics.quantiles(latencies, n=100)
        return Result(
            setup,
            dossiers,
            seconds,
            messages - 10 * MESSAGES_PER_DOSSIER,
            statistics.median(latencies),
            quantiles[98],
            floor,
        )
    finally:
        stop.set()
        for process in processes:
            if process.is_alive():
                process.kill()
        bus.unsubscribe()
        with bus.connection.channel() as channel:
            for agency in declared:
                for queue in (bus.queue(agency), bus.dead_queue(agency)):
                    with contextlib.suppress(Exception):
                        queue.bind(channel).delete()
        bus.close()
        store.close()


@contextlib.contextmanager
def _maybe_postgres(url: str | None) -> Iterator[str | None]:
    if url is None:
        yield None
        return
    with postgres_database(url) as database:
        yield database


def run(
    dossiers: int = 300, postgres: str | None = DEFAULT_PG, broker: str | None = DEFAULT_BROKER
) -> list[Result]:
    """Embedded, then RabbitMQ + PostgreSQL unless either is None."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        results.append(
            bench(
                "embedded (SQLite + SQL transport)",
                f"sqlite:///{base / 'store.sqlite3'}",
                f"lienthong+sqlite:///{base / 'bus.sqlite3'}",
                base / "keys",
                dossiers,
            )
        )
        if postgres and broker:
            with _maybe_postgres(postgres) as database:
                assert database is not None
                results.append(
                    bench("RabbitMQ + PostgreSQL", database, broker, base / "keys", dossiers)
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=count, default=300)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--skip-rabbitmq", action="store_true")
    args = parser.parse_args()
    broker = None if args.skip_rabbitmq else args.broker
    results = run(args.dossiers, args.postgres, broker)
    print(
        f"{'setup':<36}{'dossiers':>9}{'dossiers/s':>12}{'messages':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'floor msg/s':>13}{'floor doss/s':>14}"
    )
    for r in results:
        print(
            f"{r.setup:<36}{r.dossiers:>9}{r.per_second:>12,.1f}{r.messages:>10}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.floor_messages_per_s:>13,.0f}"
            f"{r.floor_dossiers_per_s:>14,.1f}"
        )
    print("target: at least 100 dossiers/s end to end on RabbitMQ + PostgreSQL")


if __name__ == "__main__":
    main()
