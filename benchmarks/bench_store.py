"""Committed actions per second on SQLite and PostgreSQL, against the raw SQLAlchemy Core floor.

An action is what a back office does all day: load a dossier (row and control sheet), fire a
trigger, append its control-sheet row (hash-chained), update the dossier with its version check,
commit. Each accepted dossier goes through the rest of its life: hand-over, a supplement request
and its supply, hand-over, finish, return of the result (six actions). The floor writes the
same rows with the same number of commits in bare Core, with statements built once: select the
dossier's version, insert one event row, update the dossier row, commit.

    python -m benchmarks.bench_store [--dossiers D] [--threads T] [--processes P]
        [--postgres URL] [--skip-postgres]

Each backend gets a fresh store (a SQLite file in a temporary folder; a new PostgreSQL database,
dropped afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import multiprocessing
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, make_url, select, text, update

from adapters.store import tables as t
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from benchmarks.args import count
from procedures import load_catalogue
from procedures.calendar_file import load_calendar
from workflow.calendar import VIETNAM
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.ports import Clock
from workflow.services import Act, Submit, act, submit

PROCEDURE = "1.001193"
#: the rest of a dossier's life after acceptance, with one supplement: six actions
LIFECYCLE = ("hand_over", "request_supplement", "supply", "hand_over", "finish", "return_result")
PAYLOADS: dict[str, dict[str, object]] = {
    "supply": {"documents": ["birth_certificate_copy"]},
    "finish": {"result": "KQ-1", "electronic": True},
}
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VIETNAM)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class _Clock(Clock):
    def now(self) -> dt.datetime:
        return START


@dataclass(frozen=True)
class Result:
    backend: str
    side: str
    actions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.actions / self.seconds


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A new database on the server of ``url``, dropped afterwards."""
    base = make_url(url).set(drivername="postgresql+psycopg")
    name = f"lienthong_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(store: SqlStore, engine: Engine, count: int) -> list[str]:
    """``count`` accepted dossiers (not timed)."""
    officer = Actor("bench", "000.00.71.H26")
    papers = ("declaration", "birth_certificate")
    codes = []
    for _ in range(count):
        dossier = submit(
            Submit(PROCEDURE, "counter", "R", officer, documents=papers),
            store.unit_of_work(),
            engine,
        )
        act(Act(dossier.code, "accept", officer), store.unit_of_work(), engine)
        codes.append(dossier.code)
    return codes


def _in_threads(threads: int, codes: list[str], one: Callable[[str, int], None]) -> float:
    """Each thread takes every ``threads``-th dossier through its whole lifecycle, in order."""

    def worker(offset: int) -> None:
        for code in codes[offset::threads]:
            for step in range(len(LIFECYCLE)):
                one(code, step)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started


def _engine_side(store: SqlStore, engine: Engine, codes: list[str], threads: int) -> float:
    """Each action is the ``act`` handler's unit of work: load, fire, append, update, commit."""
    officer = Actor("bench", "000.00.71.H26")

    def one(code: str, step: int) -> None:
        trigger = LIFECYCLE[step]
        with store.unit_of_work() as uow:
            dossier = uow.dossiers.get(code)
            engine.fire(dossier, trigger, actor=officer, note="n", payload=PAYLOADS.get(trigger))
            uow.commit()

    return _in_threads(threads, codes, one)


# the floor's statements are built once, as lean as Core allows
_FLOOR_READ = select(t.dossiers.c.version).where(t.dossiers.c.code == bindparam("code"))
_FLOOR_UPDATE = (
    update(t.dossiers)
    .where(t.dossiers.c.code == bindparam("b_code"), t.dossiers.c.version == bindparam("b_version"))
    .values(head_hash=bindparam("head"), version=bindparam("version"))
)


def _floor_side(store: SqlStore, codes: list[str], threads: int) -> float:
    """Bare Core: the same rows, the same commits, no engine, no repository."""

    def one(code: str, step: int) -> None:
        seq = 3 + step  # receive and accept are rows 1 and 2
        with store.engine.connect() as connection:
            row = connection.execute(_FLOOR_READ, {"code": code}).one()
            digest = hashlib.sha256(f"{code}{seq}".encode()).hexdigest()
            connection.execute(
                t.events.insert(),
                [
                    {
                        "dossier_code": code,
                        "seq": seq,
                        "at": START,
                        "trigger": LIFECYCLE[step],
                        "from_state": "a",
                        "to_state": "b",
                        "status": 4,
                        "actor": "bench",
                        "actor_agency": "000.00.71.H26",
                        "agency": "000.00.71.H26",
                        "step": "registration",
                        "to_agency": "000.00.71.H26",
                        "to_step": "registration",
                        "note": "n",
                        "prev_hash": digest,
                        "hash": digest,
                    }
                ],
            )
            connection.execute(
                _FLOOR_UPDATE,
                {
                    "b_code": code,
                    "b_version": row.version,
                    "head": digest,
                    "version": row.version + 1,
                },
            )
            connection.commit()

    return _in_threads(threads, codes, one)


def _process_worker(url: str, side: str, codes: list[str], threads: int, barrier: Any) -> None:
    store = SqlStore(url, Keyring(bytes(range(32))))
    engine = Engine(load_catalogue(), _Clock(), load_calendar())
    barrier.wait()
    if side == "engine":
        _engine_side(store, engine, codes, threads)
    else:
        _floor_side(store, codes, threads)
    store.close()


def _in_processes(url: str, side: str, codes: list[str], threads: int, processes: int) -> float:
    """Split the dossiers over ``processes`` spawned clients; wall seconds from a common start."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    pool = [
        context.Process(
            target=_process_worker, args=(url, side, codes[k::processes], threads, barrier)
        )
        for k in range(processes)
    ]
    for process in pool:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    for process in pool:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a benchmark process failed with exit code {process.exitcode}")
    return time.perf_counter() - started


def _timed(
    store: SqlStore, engine: Engine, side: str, codes: list[str], threads: int, processes: int
) -> float:
    if processes > 1:
        return _in_processes(store.url, side, codes, threads, processes)
    if side == "engine":
        return _engine_side(store, engine, codes, threads)
    return _floor_side(store, codes, threads)


def bench_backend(
    name: str, url: str, *, dossiers: int, threads: int, processes: int = 1
) -> list[Result]:
    """Both sides on one backend, each on fresh accepted dossiers: best of two rounds each."""
    store = SqlStore(url, Keyring(bytes(range(32))))
    try:
        store.upgrade()
        engine = Engine(load_catalogue(), _Clock(), load_calendar())
        _engine_side(store, engine, _prepare(store, engine, 20), threads)  # warm up
        actions = dossiers * len(LIFECYCLE)
        best: dict[str, Result] = {}
        for _ in range(2):
            for side, label in (("engine", "lienthong (uow + engine)"), ("floor", "Core floor")):
                codes = _prepare(store, engine, dossiers)
                seconds = _timed(store, engine, side, codes, threads, processes)
                if label not in best or seconds < best[label].seconds:
                    best[label] = Result(name, label, actions, seconds)
        return list(best.values())
    finally:
        store.close()


def run(
    dossiers: int = 500,
    threads: int = 4,
    postgres: str | None = DEFAULT_PG,
    processes: int = 1,
) -> list[Result]:
    """Both sides on SQLite, then on PostgreSQL unless ``postgres`` is None."""
    options = {"dossiers": dossiers, "threads": threads, "processes": processes}
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results += bench_backend("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", **options)
    if postgres:
        with postgres_database(postgres) as url:
            results += bench_backend("postgresql", url, **options)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dossiers",
        type=count,
        default=500,
        help="dossiers taken through six actions each, per side and round",
    )
    parser.add_argument("--threads", type=count, default=4)
    parser.add_argument("--processes", type=count, default=1, help="client processes")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    postgres = None if args.skip_postgres else args.postgres
    results = run(args.dossiers, args.threads, postgres, args.processes)
    print(f"{'backend':<12}{'side':<28}{'actions':>9}{'actions/s':>12}")
    for r in results:
        print(f"{r.backend:<12}{r.side:<28}{r.actions:>9}{r.per_second:>12,.0f}")
    for backend in dict.fromkeys(r.backend for r in results):
        ours, floor = (r for r in results if r.backend == backend)
        print(
            f"{backend}: lienthong takes {floor.per_second / ours.per_second:.2f}x the floor's "
            "time per action (target: at most 2x)"
        )


if __name__ == "__main__":
    main()
