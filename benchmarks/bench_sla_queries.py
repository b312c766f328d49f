"""SLA queries over a million open dossiers, with the partial indexes and with them dropped.

    python -m benchmarks.bench_sla_queries [--rows N] [--sqlite PATH] [--postgres URL]
        [--only sqlite|postgres] [--runs R] [--seed S]

For each backend: a new database (SQLite: a file in a new temporary directory, or PATH, which
must not exist yet and is kept; PostgreSQL: a database ``lienthong_bench_<random>`` created on
the server of URL, dropped afterwards), the schema, ``N`` open dossiers and ``N/10`` closed ones
(:mod:`benchmarks.gen_dossiers`), then ANALYZE (PostgreSQL: VACUUM ANALYZE, as autovacuum would,
so that index-only scans need not visit the table). Each query runs once untimed, then up to R
times (at least 3, within a time budget): median and best. Then the four partial indexes of
``dossiers`` are dropped, statistics refreshed, and the same queries timed again, the baseline
showing what the indexes buy; both sides must give the same answers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    ClauseElement,
    Connection,
    Engine,
    Select,
    and_,
    case,
    create_engine,
    func,
    make_url,
    select,
)

from adapters.store import tables as t
from adapters.store.database import make_engine, upgrade
from adapters.store.queries import (
    OPEN,
    AgencyLoad,
    count_query,
    due_soon,
    overdue,
    page_query,
    per_agency,
    per_agency_query,
    plan,
    window,
)
from benchmarks.args import count
from benchmarks.gen_dossiers import AGENCIES, NOW, generate
from procedures.calendar_file import load_calendar

TARGET_MS = 50.0
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SLA_INDEXES = (
    "ix_dossiers_open_agency",
    "ix_dossiers_running_due",
    "ix_dossiers_running_agency_due",
)
BUSY = AGENCIES[0]  # the agency with the most dossiers (about a quarter)
QUERIES = (
    "overdue: page + count",
    "due soon: page + count",
    "per agency: overdue, due soon (the SLA board)",
    f"overdue of {BUSY}: page + count",
    "per agency as one GROUP BY (alternative, not used)",
    "per agency with open counts too (O(open))",
)
BUDGET_S = 20.0  # per query and side, once 3 runs are done


@dataclass(frozen=True, slots=True)
class Measure:
    """Milliseconds per call: median and best of ``runs`` timed calls."""

    median_ms: float
    best_ms: float
    runs: int


@dataclass(frozen=True, slots=True)
class Timing:
    """One query on one backend: with the indexes, and without them (the baseline)."""

    backend: str
    query: str
    indexed: Measure
    baseline: Measure
    indexes: tuple[str, ...]  # the indexes its plans read


def indexes_used(lines: Sequence[str]) -> set[str]:
    """The SLA indexes a plan reads."""
    return {name for line in lines for name in re.findall(r"ix_dossiers_\w+", line)}


def full_scans(lines: Sequence[str]) -> list[str]:
    """The plan lines that read the whole ``dossiers`` table."""
    return [line for line in lines if re.search(r"^SCAN dossiers\b|Seq Scan on dossiers", line)]


def statements(until: dt.datetime) -> dict[str, list[ClauseElement]]:
    """The statements behind each timed query (for their plans)."""
    late, soon, busy = window(None, NOW), window(NOW, until), window(None, NOW, BUSY)
    return {
        QUERIES[0]: [page_query(late, 100), count_query(late)],
        QUERIES[1]: [page_query(soon, 100), count_query(soon)],
        QUERIES[2]: [per_agency_query(NOW, until)],
        QUERIES[3]: [page_query(busy, 100), count_query(busy)],
        QUERIES[4]: [group_by_query(until)],
        QUERIES[5]: [per_agency_query(NOW, until, with_open=True)],
    }


def group_by_query(until: dt.datetime) -> Select[str, int, int, int]:
    """The per-agency counts in one pass over the open dossiers (which needs every status)."""
    d, running = t.dossiers.c, t.dossiers.c.status.not_in((5, 6))
    late = case((and_(running, d.due_at < NOW), 1), else_=0)
    soon = case((and_(running, d.due_at >= NOW, d.due_at < until), 1), else_=0)
    return (
        select(d.agency, func.count(), func.sum(late), func.sum(soon))
        .where(OPEN)
        .group_by(d.agency)
        .order_by(d.agency)
    )


def _work(until: dt.datetime) -> dict[str, Callable[[Connection], object]]:
    return {
        QUERIES[0]: lambda c: overdue(c, NOW),
        QUERIES[1]: lambda c: due_soon(c, NOW, until),
        QUERIES[2]: lambda c: per_agency(c, NOW, until),
        QUERIES[3]: lambda c: overdue(c, NOW, BUSY),
        QUERIES[4]: lambda c: tuple(AgencyLoad(*r) for r in c.execute(group_by_query(until))),
        QUERIES[5]: lambda c: per_agency(c, NOW, until, with_open=True),
    }


def _measure(
    work: Callable[[Connection], object], connection: Connection, runs: int
) -> tuple[Measure, object]:
    answer = work(connection)  # warm the caches (and the prepared statements)
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < runs and (len(samples) < 3 or time.perf_counter() - started < BUDGET_S):
        gc.collect()
        gc.disable()
        try:
            begin = time.perf_counter()
            work(connection)
            samples.append((time.perf_counter() - begin) * 1000)
        finally:
            gc.enable()
    return Measure(statistics.median(samples), min(samples), len(samples)), answer


def _time_all(engine: Engine, until: dt.datetime, runs: int) -> dict[str, tuple[Measure, object]]:
    with engine.connect() as connection:
        return {name: _measure(work, connection, runs) for name, work in _work(until).items()}


def _plans(engine: Engine, until: dt.datetime) -> dict[str, tuple[str, ...]]:
    with engine.connect() as connection:
        return {
            name: tuple(sorted(set().union(*(indexes_used(plan(connection, s)) for s in group))))
            for name, group in statements(until).items()
        }


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE dossiers")


def _drop_indexes(engine: Engine) -> None:
    with engine.begin() as connection:
        for name in SLA_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX {name}")


def _bench(backend: str, url: str, rows: int, runs: int, seed: int, progress: bool) -> list[Timing]:
    until = load_calendar().add(NOW, dt.timedelta(hours=16))
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        made = generate(engine, rows, seed=seed, progress=progress)
        _analyze(engine)
        if progress:
            print(f"{backend}: {made} in {time.perf_counter() - started:.0f} s", flush=True)
        indexes = _plans(engine, until)
        indexed = _time_all(engine, until, runs)
        _drop_indexes(engine)
        _analyze(engine)
        baseline = _time_all(engine, until, runs)
    finally:
        engine.dispose()
    same = all(indexed[name][1] == baseline[name][1] for name in QUERIES)
    if not same or indexed[QUERIES[5]][1] != indexed[QUERIES[4]][1]:
        raise RuntimeError(f"{backend}: the answers differ (with or without the indexes)")
    return [
        Timing(backend, name, indexed[name][0], baseline[name][0], indexes[name])
        for name in QUERIES
    ]


@contextlib.contextmanager
def _sqlite_database(path: Path | None) -> Iterator[str]:
    if path is not None:
        if path.exists():
            raise FileExistsError(f"{path} exists; give a new path (the benchmark fills it)")
        yield f"sqlite:///{path}"
        return
    with tempfile.TemporaryDirectory(prefix="lienthong_bench_") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"


@contextlib.contextmanager
def _postgres_database(url: str) -> Iterator[str]:
    server = make_url(url).set(drivername="postgresql+psycopg")
    name = f"lienthong_bench_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def run(
    rows: int = 1_000_000,
    *,
    backends: Sequence[str] = ("sqlite", "postgres"),
    sqlite_path: Path | None = None,
    postgres_url: str = POSTGRES,
    runs: int = 20,
    seed: int = 7,
    progress: bool = False,
) -> list[Timing]:
    """Time every query on each backend, with and without the indexes (see the module)."""
    timings: list[Timing] = []
    if "sqlite" in backends:
        with _sqlite_database(sqlite_path) as url:
            timings += _bench("sqlite", url, rows, runs, seed, progress)
    if "postgres" in backends:
        with _postgres_database(postgres_url) as url:
            timings += _bench("postgres", url, rows, runs, seed, progress)
    return timings


def table(timings: Sequence[Timing]) -> str:
    """The results as a Markdown table."""
    lines = [
        f"| backend | query | median ms | best ms | no index: median ms | best ms | speed-up "
        f"| target {TARGET_MS:.0f} ms |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for timing in timings:
        on, off = timing.indexed, timing.baseline
        verdict = "met" if on.median_ms <= TARGET_MS else "**missed**"
        lines.append(
            f"| {timing.backend} | {timing.query} | {on.median_ms:.1f} | {on.best_ms:.1f} "
            f"| {off.median_ms:.1f} | {off.best_ms:.1f} | {off.median_ms / on.median_ms:.1f}x "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=count, default=1_000_000, help="open dossiers")
    parser.add_argument("--sqlite", type=Path, default=None, help="SQLite file to create")
    parser.add_argument("--postgres", default=POSTGRES, help="URL of a PostgreSQL server")
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    parser.add_argument("--runs", type=count, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    backends = (args.only,) if args.only else ("sqlite", "postgres")
    timings = run(
        args.rows,
        backends=backends,
        sqlite_path=args.sqlite,
        postgres_url=args.postgres,
        runs=args.runs,
        seed=args.seed,
        progress=True,
    )
    print(table(timings))
    for timing in timings:
        indexes = ", ".join(timing.indexes) or "no index"
        print(
            f"{timing.backend}, {timing.query}: reads {indexes} ({timing.indexed.runs} runs, "
            f"{timing.baseline.runs} without the indexes)"
        )


if __name__ == "__main__":
    main()
