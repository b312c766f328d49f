"""Writers beside a long reader on the embedded SQLite store: reads that take no write lock
(``read_connection``, what lienthong's read-only queries use) against reads that take it (an
ordinary transaction, which begins with ``BEGIN IMMEDIATE``: what every read did before), in
one run, with writers alone as the reference.

The store holds ``rows`` generated dossiers (``benchmarks.gen_dossiers``). One thread reads
without pause: a scan of every dossier (how many, and the total size of their document lists),
the kind of read the metrics' history and the audit make. Meanwhile ``writers`` threads submit
dossiers of procedure 1.001193 through the real handler (one unit of work each), for
``seconds``. Reported for each side: submissions per second with their median and 99th
percentile latency, and the reads completed; best of ``repeat`` interleaved rounds.

    python -m benchmarks.bench_reads_beside_writes [--rows N] [--seconds S] [--writers W]
        [--repeat R]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, select

from adapters.store import tables as t
from adapters.store.database import read_connection
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from benchmarks.args import count
from benchmarks.gen_dossiers import generate
from procedures import load_catalogue
from procedures.calendar_file import load_calendar
from workflow.calendar import VIETNAM
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.ports import Clock
from workflow.services import Submit, submit

PROCEDURE, PAPERS = "1.001193", ("declaration", "birth_certificate")
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VIETNAM)
ALONE = "writers alone"
UNLOCKED = "reader, no write lock"
LOCKED = "reader taking the lock"
#: the long read: every dossier, and the size of its document list
SCAN = select(func.count(), func.sum(func.length(t.dossiers.c.documents)))


class _Clock(Clock):
    def now(self) -> dt.datetime:
        return START


@dataclass(frozen=True)
class Result:
    side: str
    writes: int
    seconds: float
    latencies_ms: tuple[float, ...]
    reads: int

    @property
    def per_second(self) -> float:
        return self.writes / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _round(
    store: SqlStore,
    engine: Engine,
    side: str,
    seconds: float,
    writers: int,
    reader: Callable[[], contextlib.AbstractContextManager[Connection]] | None,
) -> Result:
    """``writers`` threads submit for ``seconds`` while ``reader`` (if any) scans in a loop."""
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(writers)]
    reads = [0]
    officer = Actor("bench", "000.00.71.H26")

    def write(mine: list[float]) -> None:
        while not stop.is_set():
            began = time.perf_counter()
            command = Submit(PROCEDURE, "counter", "R", officer, documents=PAPERS)
            submit(command, store.unit_of_work(), engine)
            mine.append((time.perf_counter() - began) * 1000)

    def read() -> None:
        assert reader is not None
        while not stop.is_set():
            with reader() as connection:
                connection.execute(SCAN).one()
            reads[0] += 1

    threads = [threading.Thread(target=write, args=(mine,)) for mine in latencies]
    if reader is not None:
        threads.append(threading.Thread(target=read))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done = tuple(ms for mine in latencies for ms in mine)
    return Result(side, len(done), elapsed, done, reads[0])


def run(
    rows: int = 200_000, seconds: float = 5.0, writers: int = 2, repeat: int = 3
) -> list[Result]:
    """Best round (most submissions) of each side, rounds interleaved."""
    with tempfile.TemporaryDirectory() as where:
        store = SqlStore(f"sqlite:///{Path(where) / 'beside.sqlite3'}", Keyring(bytes(32)))
        try:
            store.upgrade()
            generate(store.engine, rows, closed=0, progress=False)
            engine = Engine(load_catalogue(), _Clock(), load_calendar())
            readers: dict[str, Callable[[], contextlib.AbstractContextManager[Connection]] | None]
            readers = {
                ALONE: None,
                UNLOCKED: lambda: read_connection(store.engine),
                LOCKED: store.engine.connect,  # its first statement takes the write lock
            }
            best: dict[str, Result] = {}
            for _ in range(repeat):
                for side, reader in readers.items():
                    result = _round(store, engine, side, seconds, writers, reader)
                    assert result.writes > 0, f"{side}: no submission completed"
                    assert reader is None or result.reads > 0, f"{side}: no read completed"
                    if side not in best or result.per_second > best[side].per_second:
                        best[side] = result
            return [best[side] for side in readers]
        finally:
            store.close()


def report(results: list[Result], rows: int, writers: int) -> None:
    print(f"{rows:,} dossiers; {writers} writer threads submitting; one reader scanning them all")
    print(f"{'side':<26}{'submissions/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'reads':>7}")
    for r in results:
        print(f"{r.side:<26}{r.per_second:>14,.0f}{r.p50:>9.1f}{r.p99:>9.1f}{r.reads:>7}")
    alone, unlocked, locked = results
    print(
        f"beside the reader, writers keep {unlocked.per_second / alone.per_second:.0%} of their "
        f"rate when it takes no lock, {locked.per_second / alone.per_second:.0%} when it takes it"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=count, default=200_000, help="dossiers in the store")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each round")
    parser.add_argument("--writers", type=count, default=2, help="submitting threads")
    parser.add_argument("--repeat", type=count, default=3)
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("argument --seconds: give a length above 0")
    report(run(args.rows, args.seconds, args.writers, args.repeat), args.rows, args.writers)


if __name__ == "__main__":
    main()
