"""Peer comparison: procedure 2.000986 run to completion on lienthong, SpiffWorkflow and a bare
``transitions`` machine, in memory and persisting to one SQLite store after every step.

Every engine opens each dossier and takes it along the forward path of the linked birth +
residence + health-insurance procedure (accept, three hand-overs, finish, return of the result):
six steps per dossier, opening included in the time.

- lienthong: ``Engine.open`` and ``Engine.fire`` as the API's handlers do (guards, actions,
  control-sheet row, SLA clock), one machine shared by every dossier of the procedure version,
  and a clock that gives a new instant at every reading.
- SpiffWorkflow 3.x: the same procedure as BPMN (``peer_2000986.bpmn``), one ``BpmnWorkflow``
  per dossier, completing its user tasks (``task.run()`` then ``do_engine_steps()``).
- bare ``transitions``: one ``Machine`` shared by plain slotted models, no callbacks.

Persisting, each step is one transaction on the same SQLite file, each engine in its own table:
lienthong through the real store's units of work (load the dossier, fire, append the
hash-chained control-sheet row, update with its version check, commit); SpiffWorkflow reloads
the workflow from its JSON (``BpmnWorkflowSerializer``), runs the task and saves the JSON
back, as its users do; ``transitions`` reads the state row, fires and writes it back. Before
each side's timed round the file's write-ahead log is checkpointed and restarted (not timed), so
that no side's round starts with pages the side before it wrote; the log file keeps its size, as
a running store's does, so no side pays for growing it either. During every round the store's
checkpoints run on its own thread (``adapters.store.checkpoint``), whichever side wrote the
pages, as they do in service: no side's commits wait for them. Two more sides are for
information only: lienthong on a second store whose SLA board indexes were dropped (the
difference is what keeping every open dossier on the board costs per step), and the statements
lienthong's store sent the driver, recorded once and replayed on a bare ``sqlite3`` connection
into a fresh store (SQLite's own share of a step).

    python -m benchmarks.bench_peers [--dossiers N] [--persisted P] [--repeat R]
        [--footprint-ours M] [--footprint-spiff S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import sqlite3
import tempfile
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Column, Integer, MetaData, Table, Text, bindparam, insert, select, update

from adapters.store.checkpoint import Checkpointer
from adapters.store.database import SQLITE_PRAGMAS, make_engine
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from benchmarks.args import count
from benchmarks.bench_transitions import _Bare, _timed, bare_machine
from procedures import load_catalogue
from procedures.calendar_file import load_calendar
from workflow.calendar import VIETNAM
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine
from workflow.ports import Clock
from workflow.services import Act, Submit, act, submit

PROCEDURE, VERSION = "2.000986", "2025"
PATH = ("accept", "hand_over", "hand_over", "hand_over", "finish", "return_result")
PAYLOADS: dict[str, dict[str, object]] = {"finish": {"result": "KQ-1", "electronic": True}}
#: the agency where the dossier is when each trigger of PATH fires (the BPMN's lanes)
AGENCIES = ("000.00.71.H26",) * 3 + ("000.09.71.H26", "000.08.71.H26", "000.00.71.H26")
BPMN = Path(__file__).with_name("peer_2000986.bpmn")
PROCESS_ID = "procedure_2000986"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VIETNAM)
OURS, SPIFF, BARE = "lienthong engine", "SpiffWorkflow", "bare transitions"
#: informational, persisting only: the same store without the SLA board's indexes on dossiers,
#: to show what keeping the board queryable costs per step (not a configuration we ship)
OURS_UNINDEXED = "lienthong, no board idx"
#: informational, persisting only: the statements lienthong's store sent the driver for the
#: same dossiers, recorded, then replayed on a bare ``sqlite3`` connection into a fresh store of
#: the same schema: SQLite's own part of a persisted step, without any Python of ours or
#: SQLAlchemy's
OURS_REPLAYED = "its SQL, bare driver"
IN_MEMORY, PERSISTED = "in memory", "SQLite, each step"

_peers = MetaData()
spiff_rows = Table(
    "bench_spiff_workflows", _peers, Column("id", Integer, primary_key=True), Column("json", Text)
)
bare_rows = Table(
    "bench_transitions_models",
    _peers,
    Column("id", Integer, primary_key=True),
    Column("state", Text, nullable=False),
)


@dataclass(frozen=True)
class Result:
    mode: str
    engine: str
    dossiers: int
    steps: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Completed dossiers per second."""
        return self.dossiers / self.seconds

    @property
    def us_per_step(self) -> float:
        return self.seconds / self.steps * 1e6


@dataclass(frozen=True)
class Footprint:
    engine: str
    open_dossiers: int
    bytes: int

    @property
    def per_dossier(self) -> float:
        return self.bytes / self.open_dossiers


class _Ticking(Clock):
    """A new instant at every reading, a microsecond apart, as a real clock gives: each action's
    instants are its own objects (the store's conversions may not find one already made)."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> dt.datetime:
        return START + dt.timedelta(microseconds=next(self._ticks))


class Peers:
    """The three engines, built once; each ``*_round`` prepares one untimed round and returns
    its timed work, which gives back how many dossiers it completed."""

    def __init__(self) -> None:
        self.engine = Engine(load_catalogue(), _Ticking(), load_calendar())
        definition = self.engine.catalogue.get(PROCEDURE, version=VERSION)
        self.papers = tuple(d.kind for d in definition.documents)
        self.actors = tuple(Actor("bench", agency) for agency in AGENCIES)
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec: BpmnProcessSpec = parser.get_spec(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.machine = bare_machine(definition)
        self.initial = definition.initial

    # -- in memory ------------------------------------------------------------------------

    def open_ours(self, code: str) -> Dossier:
        return self.engine.open(
            code=code,
            procedure=PROCEDURE,
            version=VERSION,
            channel="online",
            applicant_ref="R",
            actor=self.actors[0],
            documents=self.papers,
        )

    def open_spiff(self) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()  # the start event: waits at the first user task
        return workflow

    def ours_round(self, dossiers: int) -> Callable[[], int]:
        fire, steps = self.engine.fire, tuple(zip(PATH, self.actors, strict=True))

        def work() -> int:
            done = 0
            for i in range(dossiers):
                dossier = self.open_ours(f"P-{i}")
                for trigger, actor in steps:
                    fire(dossier, trigger, actor=actor, payload=PAYLOADS.get(trigger))
                done += dossier.state == "returned"
            return done

        return work

    def spiff_round(self, dossiers: int) -> Callable[[], int]:
        def work() -> int:
            done = 0
            for _ in range(dossiers):
                workflow = self.open_spiff()
                for _step in PATH:
                    _run_ready_task(workflow)
                done += workflow.is_completed()
            return done

        return work

    def bare_round(self, dossiers: int) -> Callable[[], int]:
        events = [self.machine.events[trigger] for trigger in PATH]

        def work() -> int:
            done = 0
            for _ in range(dossiers):
                model = _Bare(self.initial)
                for event in events:
                    event.trigger(model)
                done += model.state == "returned"
            return done

        return work

    # -- persisting after each step to one store ------------------------------------------

    def ours_stored(self, store: SqlStore, dossiers: int) -> Callable[[], int]:
        steps = tuple(zip(PATH, self.actors, strict=True))

        def work() -> int:
            done = 0
            for _ in range(dossiers):
                opened = submit(
                    Submit(PROCEDURE, "online", "R", self.actors[0], documents=self.papers),
                    store.unit_of_work(),
                    self.engine,
                )
                for trigger, actor in steps:
                    command = Act(opened.code, trigger, actor, payload=PAYLOADS.get(trigger, {}))
                    dossier, _ = act(command, store.unit_of_work(), self.engine)
                done += dossier.state == "returned"
            return done

        return work

    def spiff_stored(self, store: SqlStore, dossiers: int) -> Callable[[], int]:
        serialize, deserialize = self.serializer.serialize_json, self.serializer.deserialize_json
        read = select(spiff_rows.c.json).where(spiff_rows.c.id == bindparam("key"))
        write = update(spiff_rows).where(spiff_rows.c.id == bindparam("key"))
        write = write.values(json=bindparam("body"))

        def work() -> int:
            done = 0
            for _ in range(dossiers):
                with store.engine.begin() as connection:
                    row = {"json": serialize(self.open_spiff())}
                    key = connection.execute(insert(spiff_rows), row).inserted_primary_key[0]
                for _step in PATH:
                    with store.engine.begin() as connection:
                        saved = connection.execute(read, {"key": key}).scalar_one()
                        workflow = deserialize(saved)
                        _run_ready_task(workflow)
                        connection.execute(write, {"key": key, "body": serialize(workflow)})
                done += workflow.is_completed()
            return done

        return work

    def bare_stored(self, store: SqlStore, dossiers: int) -> Callable[[], int]:
        events = [self.machine.events[trigger] for trigger in PATH]
        read = select(bare_rows.c.state).where(bare_rows.c.id == bindparam("key"))
        write = update(bare_rows).where(bare_rows.c.id == bindparam("key"))
        write = write.values(state=bindparam("to"))

        def work() -> int:
            done = 0
            for _ in range(dossiers):
                with store.engine.begin() as connection:
                    key = connection.execute(
                        insert(bare_rows), {"state": self.initial}
                    ).inserted_primary_key[0]
                for event in events:
                    with store.engine.begin() as connection:
                        model = _Bare(connection.execute(read, {"key": key}).scalar_one())
                        event.trigger(model)
                        connection.execute(write, {"key": key, "to": model.state})
                done += model.state == "returned"
            return done

        return work


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        _Recording.log.append((sql, parameters, False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        rows = list(parameters)
        _Recording.log.append((sql, rows, True))
        return super().executemany(sql, rows)


class _Recording(sqlite3.Connection):
    """A driver connection that keeps every statement run through its cursors, and commits."""

    log: ClassVar[list[tuple[str, Any, bool]]] = []

    def cursor(self, factory: Any = _RecordingCursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        _Recording.log.append(("COMMIT", None, False))
        super().commit()


def record_ours(peers: Peers, folder: Path, dossiers: int) -> list[tuple[str, Any, bool]]:
    """What lienthong's store sends the SQLite driver to take ``dossiers`` dossiers along the
    path, one unit of work a step (as ``Peers.ours_stored``)."""
    path = folder / "recorded.sqlite3"
    engine = make_engine(
        f"sqlite:///{path}",
        creator=lambda: sqlite3.connect(
            path, timeout=30, factory=_Recording, check_same_thread=False
        ),
    )
    store = SqlStore(f"sqlite:///{path}", Keyring(bytes(range(32))), engine=engine)
    if store.checkpointer is not None:  # its statements would be recorded as the store's
        store.checkpointer.close()
    try:
        store.upgrade()
        _Recording.log = []
        done = peers.ours_stored(store, dossiers)()
        assert done == dossiers, f"recorded {done} of {dossiers} dossiers"
        return _Recording.log
    finally:
        _Recording.log = []
        store.close()


def replayed(
    statements: list[tuple[str, Any, bool]],
    folder: Path,
    dossiers: int,
    checkpointers: list[Checkpointer] | None = None,
) -> Callable[[], int]:
    """A fresh store of the same schema (not timed), and the work of running ``statements`` on
    a bare ``sqlite3`` connection to it with the store's pragmas: the dossiers it completed.
    Its checkpoints run on a thread, as the store's do; the thread is added to
    ``checkpointers`` for the caller to close (or closed by the next replay)."""
    path = folder / "replayed.sqlite3"
    for earlier in checkpointers or ():
        if earlier.database == path:
            earlier.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    schema = SqlStore(f"sqlite:///{path}", Keyring(bytes(range(32))))
    schema.upgrade()
    schema.close()
    connection = _bare(path)
    checkpointer = Checkpointer(path, lambda: _bare(path, check_same_thread=False))
    checkpointer.start()
    if checkpointers is not None:
        checkpointers.append(checkpointer)

    def work() -> int:
        for sql, parameters, many in statements:
            if sql == "COMMIT":
                connection.commit()
            elif many:
                connection.executemany(sql, parameters)
            else:
                connection.execute(sql, parameters)
        returned = connection.execute(
            "SELECT count(*) FROM dossiers WHERE state = 'returned'"
        ).fetchone()[0]
        connection.close()
        assert returned == dossiers, f"the replay completed {returned} of {dossiers} dossiers"
        return int(returned)

    return work


def _bare(path: Path, **options: Any) -> sqlite3.Connection:
    """A bare ``sqlite3`` connection with the store's pragmas."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30, **options)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _run_ready_task(workflow: BpmnWorkflow) -> None:
    """Complete the one ready user task, as a user would, and let the engine move on."""
    task = workflow.get_tasks(state=TaskState.READY)[0]
    if task.task_spec.name == "finish":
        task.set_data(**PAYLOADS["finish"])
    task.run()
    workflow.do_engine_steps()


def _race(
    mode: str, dossiers: int, repeat: int, sides: dict[str, Callable[[], Callable[[], int]]]
) -> list[Result]:
    """Best round of each side; rounds interleave, so that machine noise hits all alike.
    Every round must complete every dossier."""
    best: dict[str, float] = dict.fromkeys(sides, float("inf"))
    for _ in range(repeat):
        for name, prepare in sides.items():
            done, seconds = _timed(prepare())
            assert done == dossiers, f"{name} ({mode}) completed {done} of {dossiers} dossiers"
            best[name] = min(best[name], seconds)
    steps = dossiers * len(PATH)
    return [Result(mode, name, dossiers, steps, seconds) for name, seconds in best.items()]


def footprint(build: Callable[[int], object], count: int, name: str) -> Footprint:
    """Bytes that ``count`` open dossiers built by ``build(i)`` hold (tracemalloc), kept alive
    in one list."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [build(i) for i in range(count)]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(held) == count
    del held
    return Footprint(name, count, after - before)


def run(
    dossiers: int = 2_000,
    persisted: int = 200,
    repeat: int = 5,
    *,
    folder: Path | None = None,
) -> list[Result]:
    """Completed dossiers of each engine, best of ``repeat`` interleaved rounds: ``dossiers``
    in memory, then ``persisted`` persisting each step to one SQLite file (in ``folder``, or a
    temporary folder)."""
    peers = Peers()
    results = _race(
        IN_MEMORY,
        dossiers,
        repeat,
        {
            OURS: lambda: peers.ours_round(dossiers),
            SPIFF: lambda: peers.spiff_round(dossiers),
            BARE: lambda: peers.bare_round(dossiers),
        },
    )
    with tempfile.TemporaryDirectory(dir=folder) as where:
        keys = Keyring(bytes(range(32)))
        store = SqlStore(f"sqlite:///{Path(where) / 'peers.sqlite3'}", keys)
        unindexed = SqlStore(f"sqlite:///{Path(where) / 'unindexed.sqlite3'}", keys)
        checkpointers: list[Checkpointer] = []
        try:
            store.upgrade()
            _peers.create_all(store.engine)
            unindexed.upgrade()
            _drop_board_indexes(unindexed)
            statements = record_ours(peers, Path(where), persisted)
            results += _race(
                PERSISTED,
                persisted,
                repeat,
                {
                    OURS: lambda: peers.ours_stored(_settled(store), persisted),
                    SPIFF: lambda: peers.spiff_stored(_settled(store), persisted),
                    BARE: lambda: peers.bare_stored(_settled(store), persisted),
                    OURS_UNINDEXED: lambda: peers.ours_stored(_settled(unindexed), persisted),
                    OURS_REPLAYED: lambda: replayed(
                        statements, Path(where), persisted, checkpointers
                    ),
                },
            )
        finally:
            for checkpointer in checkpointers:
                checkpointer.close()
            store.close()
            unindexed.close()
    return results


def _settled(store: SqlStore) -> SqlStore:
    """``store`` with its write-ahead log checkpointed into the database file and restarted (not
    timed), so that no side's round starts with pages the side before it left in the log. The
    log file keeps its size (``RESTART``, not ``TRUNCATE``): a running store's log stays at its
    size and its frames overwrite allocated blocks, while a truncated one makes the next round
    pay the file system for growing it again (about 1.5 µs a log page here). The store's own
    checkpoints then run on its thread during every side's round alike."""
    checkpointer = store.checkpointer
    assert checkpointer is not None, "a store on an SQLite file has a checkpointer"
    busy = checkpointer.checkpoint("RESTART")[0]
    assert busy == 0, "the log could not be checkpointed: another connection is using it"
    return store


def _drop_board_indexes(store: SqlStore) -> None:
    """Drop the partial indexes on ``dossiers`` that keep the SLA board's queries fast (their
    names say ``open``, ``running`` or ``paused``)."""
    with store.engine.begin() as connection:
        names = (
            connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dossiers' "
                "AND (name LIKE 'ix_dossiers_open%' OR name LIKE 'ix_dossiers_running%' "
                "OR name LIKE 'ix_dossiers_paused%')"
            )
            .scalars()
            .all()
        )
        assert names, "no board indexes found to drop"
        for name in names:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')


def footprints(ours: int = 1_000_000, spiff: int = 20_000) -> list[Footprint]:
    """Memory per open dossier: ``ours`` lienthong dossiers as the engine holds them (a
    ``Dossier`` with its first control-sheet row; the machine is shared) and as many bare
    ``transitions`` models, against ``spiff`` open SpiffWorkflow instances."""
    peers = Peers()
    return [
        footprint(lambda i: peers.open_ours(f"P-{i}"), ours, OURS),
        footprint(lambda _: peers.open_spiff(), spiff, SPIFF),
        footprint(lambda _: _Bare(peers.initial), ours, BARE),
    ]


def report(results: list[Result], prints: list[Footprint]) -> None:
    """Print the tables."""
    print(
        f"{'mode':<20}{'engine':<25}{'dossiers':>9}{'dossiers/s':>12}{'µs/step':>10}"
        f"{'vs Spiff':>10}{'vs bare':>9}"
    )
    for r in results:
        spiff, bare = (x for x in results if x.mode == r.mode and x.engine in (SPIFF, BARE))
        print(
            f"{r.mode:<20}{r.engine:<25}{r.dossiers:>9}{r.per_second:>12,.0f}"
            f"{r.us_per_step:>10.1f}{r.per_second / spiff.per_second:>9.1f}x"
            f"{r.per_second / bare.per_second:>8.2f}x"
        )
    for mode, target in ((IN_MEMORY, 10), (PERSISTED, 5)):
        ours, spiff = (
            next(r for r in results if r.mode == mode and r.engine == e) for e in (OURS, SPIFF)
        )
        ratio = ours.per_second / spiff.per_second
        verdict = "met" if ratio >= target else "NOT met"
        print(
            f"{mode}: lienthong {ratio:.1f}x SpiffWorkflow (target: at least {target}x, {verdict})"
        )
    ours, unindexed = (
        next((r for r in results if r.mode == PERSISTED and r.engine == e), None)
        for e in (OURS, OURS_UNINDEXED)
    )
    if ours is not None and unindexed is not None:
        print(
            f"{PERSISTED}: the SLA board's indexes cost "
            f"{ours.us_per_step - unindexed.us_per_step:.0f} µs per step "
            f"({OURS_UNINDEXED}: informational, not shipped)"
        )
    replay = next((r for r in results if r.engine == OURS_REPLAYED), None)
    if ours is not None and replay is not None:
        print(
            f"{PERSISTED}: lienthong's statements on the bare driver take {replay.us_per_step:.0f} "
            f"µs per step (SQLite's own part); the store's and engine's Python adds "
            f"{ours.us_per_step - replay.us_per_step:.0f} µs ({OURS_REPLAYED}: informational)"
        )
    if prints:
        print(f"\n{'engine':<20}{'open dossiers':>14}{'bytes/dossier':>15}")
        for f in prints:
            print(f"{f.engine:<20}{f.open_dossiers:>14,}{f.per_dossier:>15,.0f}")
        ours = next(f for f in prints if f.engine == OURS)
        verdict = "met" if ours.per_dossier <= 2000 else "NOT met"
        print(
            f"lienthong: {ours.per_dossier:,.0f} bytes per open dossier at "
            f"{ours.open_dossiers:,} (target: at most 2 KB, {verdict}); "
            "one machine per procedure version, none per dossier"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=count, default=2_000, help="in memory, per round")
    parser.add_argument("--persisted", type=count, default=200, help="persisting, per round")
    parser.add_argument("--repeat", type=count, default=5)
    parser.add_argument("--footprint-ours", type=count, default=1_000_000)
    parser.add_argument("--footprint-spiff", type=count, default=20_000)
    args = parser.parse_args()
    results = run(args.dossiers, args.persisted, args.repeat)
    prints = footprints(args.footprint_ours, args.footprint_spiff)
    report(results, prints)


if __name__ == "__main__":
    main()
