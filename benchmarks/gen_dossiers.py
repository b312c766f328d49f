"""Fill a store with many dossiers for the SLA query benchmark, fast and deterministically.

Rows go straight into the ``dossiers`` table (no control sheet), in batches through a
SQLAlchemy Core ``executemany``. The spread, around a fixed ``now``:

- about 20 agencies, skewed (the largest holds about a quarter of the dossiers);
- ``rows`` open dossiers: about 10% overdue (due within the last 60 days), about 1% not yet
  accepted (no due instant), about 5% paused (supplement or fee awaited, any due instant), the
  rest due within the next 60 days;
- ``closed`` extra closed dossiers (finished or returned), by default a tenth of ``rows``.

    python -m benchmarks.gen_dossiers URL [--rows N] [--closed N] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine, insert

from adapters.store import tables as t
from adapters.store.database import make_engine, upgrade
from adapters.store.records import lane
from benchmarks.args import count

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # Monday 10:00 in Hanoi
AGENCIES = tuple(f"000.{k:02d}.07.H26" for k in range(20))
WEIGHTS = tuple(1 / (k + 1) ** 0.9 for k in range(20))  # Zipf-like skew
PROCEDURES = ("1.001193", "1.000656", "1.000894", "1.001612", "1.004222", "2.000815")
STEPS = {  # the steps of each procedure's 2025 version (procedures/catalogue/)
    "1.001193": ("reception", "registration", "signing", "return"),
    "1.000656": ("reception", "registration", "signing", "return"),
    "1.000894": ("reception", "registration", "signing", "return"),
    "1.001612": ("reception", "appraisal", "return"),
    "1.004222": ("reception", "verification", "approval", "return"),
    "2.000815": ("reception", "certification", "signing", "return"),
}
OFFICERS = 8  # per agency
BATCH = 10_000
_DAY_SECONDS = 86_400
_SPAN = 60 * _DAY_SECONDS


@dataclass(frozen=True, slots=True)
class Generated:
    """What was inserted: open dossiers (paused among them, overdue among the running) and
    closed dossiers."""

    open: int
    paused: int
    overdue: int
    closed: int


def _due(rng: random.Random, now: dt.datetime, overdue: bool) -> dt.datetime:
    seconds = rng.randrange(1, _SPAN)
    return now + dt.timedelta(seconds=-seconds if overdue else seconds - 1)


def _row(index: int, rng: random.Random, now: dt.datetime, closed: bool) -> dict[str, Any]:
    roll = rng.random()
    if closed:
        status, state, due = rng.choice((9, 10)), "closed", _due(rng, now, rng.random() < 0.5)
    elif roll < 0.01:
        status, state, due = 1, "submitted", None
    elif roll < 0.06:
        status = rng.choice((5, 6))
        state = "awaiting_supplement" if status == 5 else "awaiting_fee"
        due = _due(rng, now, rng.random() < 0.1)
    else:
        status, state, due = 4, "processing", _due(rng, now, roll < 0.16)
    received = (due or now) - dt.timedelta(days=rng.randrange(3, 30))
    procedure = rng.choice(PROCEDURES)
    agency = rng.choices(AGENCIES, WEIGHTS)[0]
    step_due = None if due is None else due - dt.timedelta(hours=rng.randrange(0, 72))
    return {
        "code": f"BENCH-{index:09d}",
        "procedure_code": procedure,
        "procedure_version": "2025",
        "state": state,
        "status": status,
        "closed": closed,
        "lane": lane(status, closed=closed),
        "agency": agency,
        "step": rng.choice(STEPS[procedure]) if due is not None else None,
        "step_started_at": None if step_due is None else step_due - dt.timedelta(days=1),
        "step_due_at": step_due,
        "assignee": f"officer-{agency}-{rng.randrange(OFFICERS)}",
        "channel": "online" if rng.random() < 0.6 else "counter",
        "applicant_ref": f"A{index:09d}",
        "received_at": received,
        "clock_started_at": received if due is not None else None,
        "due_at": due,
        "finished_at": now if closed else None,
        "verdict": "on_time" if closed else None,
        "pauses": [],
        "due_resets": 0,
        "supplement_requests": (2 if rng.random() < 0.1 else 1) if status == 5 else 0,
        "fee_paid": False,
        "result_electronic": False,
        "documents": [],
        "head_hash": f"{index:064x}",
        "version": 1,
    }


def rows(count: int, closed: int, seed: int, now: dt.datetime = NOW) -> Iterator[dict[str, Any]]:
    """``count`` open then ``closed`` closed dossier rows, the same for the same seed."""
    rng = random.Random(seed)
    for index in range(count + closed):
        yield _row(index, rng, now, index >= count)


def generate(
    engine: Engine,
    count: int = 1_000_000,
    closed: int | None = None,
    seed: int = 7,
    now: dt.datetime = NOW,
    progress: bool = True,
) -> Generated:
    """Insert ``count`` open dossiers and ``closed`` closed ones (default ``count // 10``)."""
    closed = count // 10 if closed is None else closed
    paused = overdue = 0
    batch: list[dict[str, Any]] = []
    with Progress(disable=not progress, transient=True) as bar, engine.begin() as connection:
        task = bar.add_task("dossiers", total=count + closed)
        for row in rows(count, closed, seed, now):
            if not row["closed"]:
                paused += row["status"] in (5, 6)
                due = row["due_at"]
                overdue += row["status"] not in (5, 6) and due is not None and due < now
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(insert(t.dossiers), batch)
                bar.advance(task, len(batch))
                batch = []
        if batch:
            connection.execute(insert(t.dossiers), batch)
            bar.advance(task, len(batch))
    return Generated(count, paused, overdue, closed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="database URL (the schema is created or upgraded first)")
    parser.add_argument("--rows", type=count, default=1_000_000, help="open dossiers")
    parser.add_argument("--closed", type=int, default=None, help="closed dossiers (rows/10)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    engine = make_engine(args.url)
    try:
        upgrade(engine)
        print(generate(engine, args.rows, args.closed, args.seed))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
