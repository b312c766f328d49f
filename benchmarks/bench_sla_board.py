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

from sqlalchemy import Engine, func, select, text

from adapters.store import tables as t
from adapters.store.database import make_engine, upgrade
from adapters.store.sla_board import Horizons, sla_board
from benchmarks.args import count
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
        with engine.connect() as connection:
            present = connection.execute(select(func.count()).select_from(t.dossiers)).scalar()
        if present:  # a database kept from an earlier run (--reuse-*): measure it as it is
            if progress:
                print(f"{backend}: {present} dossiers already there", flush=True)
        else:
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
    reuse: dict[str, str] | None = None,
) -> list[Timing]:
    """Both sides on each backend (``only`` one of them; ``postgres=None``: SQLite only).
    ``reuse``: backend name -> URL of a database filled by an earlier run, measured as is."""
    timings: list[Timing] = []
    reuse = reuse or {}
    if only in (None, "sqlite"):
        if "sqlite" in reuse:
            timings += _bench("SQLite", reuse["sqlite"], rows, runs, progress)
        else:
            with _sqlite_database(None) as url:
                timings += _bench("SQLite", url, rows, runs, progress)
    if only in (None, "postgres") and postgres is not None:
        if "postgres" in reuse:
            timings += _bench("PostgreSQL", reuse["postgres"], rows, runs, progress)
        else:
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
    parser.add_argument("--rows", type=count, default=1_000_000)
    parser.add_argument("--runs", type=count, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--postgres", default=POSTGRES, help="server URL for the new database")
    parser.add_argument("--reuse-sqlite", help="URL of a SQLite database an earlier run filled")
    parser.add_argument("--reuse-postgres", help="URL of a PostgreSQL database likewise")
    parser.add_argument(
        "--dashboard", action="store_true", help="also time the dashboard's first render"
    )
    args = parser.parse_args()
    reuse = {
        name: url
        for name, url in (("sqlite", args.reuse_sqlite), ("postgres", args.reuse_postgres))
        if url
    }
    timings = run(args.rows, runs=args.runs, only=args.only, postgres=args.postgres, reuse=reuse)
    print(table(timings))
    if args.dashboard:
        for backend, url in reuse.items():
            render = dashboard_render(backend, url)
            print(
                f"dashboard on {backend}: board shown in {render.board_s:.2f} s, every panel in "
                f"{render.complete_s:.2f} s (target: first render at most {TARGET_S:g} s)"
            )


CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True, slots=True)
class Render:
    backend: str
    board_s: float  # from the page's load to the board's counts shown
    complete_s: float  # ... to every panel (processing time, scorecard) shown


def dashboard_render(backend: str, url: str, runs: int = 3) -> Render:
    """The dashboard's first render on a filled store, in headless Chromium at 1366x768: a real
    ``lienthong serve`` on ``url``, a supervisor logged in, then the page reloaded ``runs``
    times (median). Needs Debian's Chromium and the ``playwright`` package (dev extra)."""
    import datetime as dt  # noqa: PLC0415
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import socket  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from adapters.api.client import wait_until_up  # noqa: PLC0415
    from adapters.store.principals import Role, create_principal  # noqa: PLC0415

    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    _, token = create_principal(engine, name="bench", agency=BUSY, role=Role.SUPERVISOR, now=now)
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="lienthong_bench_") as folder:
        env = {**os.environ, "LIENTHONG_DATABASE_URL": url, "LIENTHONG_VAR_DIR": folder}
        log = (Path(folder) / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port), "--no-alerts"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, seconds=300, alive=lambda: server.poll() is None)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.set_default_timeout(300_000)
                page.goto(f"{base}/dashboard")
                page.fill("[data-testid=login-token]", token)
                page.click("[data-testid=login-submit]")
                page.wait_for_selector("[data-testid=last-updated][data-complete]")
                boards, completes = [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    page.reload()
                    page.wait_for_selector("[data-testid=count-overdue]")
                    page.wait_for_selector("[data-testid=last-updated][data-at]")
                    boards.append(time.perf_counter() - started)
                    page.wait_for_selector("[data-testid=last-updated][data-complete]")
                    completes.append(time.perf_counter() - started)
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
            log.close()
    return Render(backend, statistics.median(boards), statistics.median(completes))


if __name__ == "__main__":
    main()
