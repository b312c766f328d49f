"""The SLA board over a million open dossiers, against the same board computed in Python.

    python -m benchmarks.bench_sla_board [--rows N] [--only sqlite|postgres] [--runs R]

For each backend: a new database (SQLite: a temporary file; PostgreSQL: ``lienthong_bench_*`` on
the local server, dropped afterwards), ``N`` open dossiers and ``N/10`` closed ones
(:mod:`benchmarks.gen_dossiers`: about 20 agencies, 10% overdue, 5% paused, 8 officers an
agency, real procedures and steps), then ANALYZE. Timed, median of R runs after one untimed:

- **lienthong**: :func:`adapters.store.sla_board.sla_board` (counts by agency, procedure and
  officer for dossiers and steps, and the first 50 of every list), for every agency and for the
  busiest one;
- **baseline**: the board as an application without the board's indexes and statement would
  compute it: read every open dossier's procedure, step, agency, assignee, status and due
  instants, and classify each in Python against the same risk horizons.

Both must give the same counts, or the benchmark fails. Target: at most 1 s on each backend.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text

from adapters.store import tables as t
from adapters.store.database import make_engine, upgrade
from adapters.store.sla_board import Horizons, sla_board
from benchmarks.bench_sla_queries import POSTGRES, _analyze, _postgres_database, _sqlite_database
from benchmarks.gen_dossiers import AGENCIES, NOW, generate
from procedures import load_agencies, load_catalogue
from procedures.calendar_file import load_calendar
from workflow.board import Board, Counts
from workflow.sla import SlaPolicy

TARGET_S = 1.0
BUSY = AGENCIES[0]


@dataclass(frozen=True, slots=True)
class Timing:
    backend: str
    work: str
    median_s: float
    best_s: float
    baseline_median_s: float


def _timed(work: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    answer = work()  # untimed: warm caches, as a running server has them
    times = []
    gc.disable()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            answer = work()
            times.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return statistics.median(times), min(times), answer


def naive_counts(engine: Engine, horizons: Horizons, agency: str | None) -> tuple[Counts, Counts]:
    """The dossiers' and steps' counts, every open dossier read and classified in Python."""
    d = t.dossiers.c
    query = select(
        d.procedure_code, d.procedure_version, d.step, d.status, d.due_at, d.step_due_at
    ).where(text("NOT closed"))
    if agency is not None:
        query = query.where(d.agency == agency)
    dossiers: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    at = horizons.at
    with engine.connect() as connection:
        for code, version, step, status, due, step_due in connection.execute(query):
            if status in (5, 6):
                dossiers["paused"] += 1
                steps["paused"] += 1
                continue
            if due is None:
                dossiers["not_started"] += 1
            else:
                dossiers[_standing(at, due, horizons.dossier.get((code, version), at))] += 1
            if step_due is not None:
                horizon = horizons.step.get((code, version, step or ""), at)
                steps[_standing(at, step_due, horizon)] += 1
    return Counts(**dossiers), Counts(**steps)


def _standing(at: Any, due: Any, horizon: Any) -> str:
    if due < at:
        return "overdue"
    if due < horizon:
        return "at_risk"
    return "on_track"


def _bench(backend: str, url: str, rows: int, runs: int, progress: bool) -> list[Timing]:
    catalogue = load_catalogue(agencies=load_agencies())
    calendar = load_calendar()
    policy = SlaPolicy()
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        made = generate(engine, rows, progress=progress)
        _analyze(engine)
        if progress:
            print(f"{backend}: {made} in {time.perf_counter() - started:.0f} s", flush=True)
        horizons = Horizons(NOW, catalogue, calendar, policy)
        timings = []
        for work, agency in (("board, every agency", None), (f"board of {BUSY}", BUSY)):

            def board(agency: str | None = agency) -> Board:
                return sla_board(
                    engine, url, NOW, catalogue, calendar, policy, agency=agency, limit=50
                )

            def naive(agency: str | None = agency) -> tuple[Counts, Counts]:
                return naive_counts(engine, horizons, agency)

            median, best, found = _timed(board, runs)
            base_median, _, expected = _timed(naive, runs)
            if (found.dossiers, found.steps) != expected:
                raise RuntimeError(f"{backend} {work}: {found.dossiers} != {expected[0]}")
            timings.append(Timing(backend, work, median, best, base_median))
            if progress:
                print(f"  {work}: {found.dossiers}", flush=True)
    finally:
        engine.dispose()
    return timings


def run(
    rows: int = 1_000_000,
    *,
    runs: int = 5,
    only: str | None = None,
    postgres: str | None = POSTGRES,
    progress: bool = True,
) -> list[Timing]:
    """Both sides on each backend (``only`` one of them; ``postgres=None``: SQLite only)."""
    timings: list[Timing] = []
    if only in (None, "sqlite"):
        with _sqlite_database(None) as url:
            timings += _bench("SQLite", url, rows, runs, progress)
    if only in (None, "postgres") and postgres is not None:
        with _postgres_database(postgres) as url:
            timings += _bench("PostgreSQL", url, rows, runs, progress)
    return timings


def table(timings: Sequence[Timing]) -> str:
    lines = [
        f"{'backend':<11} {'work':<32} {'median s':>9} {'best s':>8} {'baseline s':>11} "
        f"{'speed-up':>9}"
    ]
    for x in timings:
        lines.append(
            f"{x.backend:<11} {x.work:<32} {x.median_s:>9.3f} {x.best_s:>8.3f} "
            f"{x.baseline_median_s:>11.3f} {x.baseline_median_s / x.median_s:>8.1f}x"
        )
    lines.append(f"target: the board in at most {TARGET_S:g} s on each backend")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--postgres", default=POSTGRES, help="server URL for the new database")
    args = parser.parse_args()
    print(table(run(args.rows, runs=args.runs, only=args.only, postgres=args.postgres)))


if __name__ == "__main__":
    main()
