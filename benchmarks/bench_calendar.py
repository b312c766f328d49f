"""Due instants per second: the working-time line against a naive day-by-day loop.

Both use the same :class:`~workflow.calendar.WorkingCalendar` (holidays, overrides, hours); the
naive loop walks day by day from the start, adding each working day's hours, as simple
implementations do. Starts are random instants of 2025-2027 (seeded).

    python -m benchmarks.bench_calendar [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import time
from collections.abc import Callable, Sequence

from benchmarks.args import count
from procedures.calendar_file import load_calendar
from workflow.calendar import WorkingCalendar

HOUR = dt.timedelta(hours=1)


def naive_due(cal: WorkingCalendar, start: dt.datetime, days: float) -> dt.datetime:
    """The same due rule (limits > 0), walking day by day and period by period."""
    local = start.astimezone(cal.tz)
    left = dt.timedelta(hours=8 * days)
    day = local.date()
    while True:
        if cal.is_working_day(day):
            for begin, end in cal.working_hours:
                a = dt.datetime.combine(day, begin, tzinfo=cal.tz)
                b = dt.datetime.combine(day, end, tzinfo=cal.tz)
                a = max(a, local) if a <= local < b else a
                if b <= local:
                    continue
                if b - a >= left:
                    return a + left
                left -= b - a
        day += dt.timedelta(days=1)


def _starts(count: int, seed: int) -> list[dt.datetime]:
    rng = random.Random(seed)
    first = dt.datetime(2025, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    return [first + dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)) for _ in range(count)]


def _rate(work: Callable[[], int], repeat: int = 3) -> float:
    best = 0.0
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            done = work()
            best = max(best, done / (time.perf_counter() - started))
        finally:
            gc.enable()
    return best


def run(count: int = 100_000, seed: int = 7) -> dict[str, float]:
    """Due instants per second for each side; checks that both sides agree."""
    cal = load_calendar()
    starts = _starts(count, seed)
    rng = random.Random(seed)
    limits: Sequence[float] = [rng.randrange(0, 121) / 2 for _ in range(count)]
    naive_count = max(count // 20, 100)
    for start in starts[:200]:  # same answers before timing anything
        assert cal.due(start, 30) == naive_due(cal, start, 30)
    due = cal.due
    return {
        "line, limits 0-60 days": _rate(
            lambda: sum(1 for s, n in zip(starts, limits, strict=False) if due(s, n))
        ),
        "line, 30-day limits": _rate(lambda: sum(1 for s in starts if due(s, 30))),
        "naive loop, 30-day limits": _rate(
            lambda: sum(1 for s in starts[:naive_count] if naive_due(cal, s, 30))
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=count, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rates = run(args.count, args.seed)
    print(f"{'method':<30}{'due instants/s':>16}")
    for name, rate in rates.items():
        print(f"{name:<30}{rate:>16,.0f}")
    ratio = rates["line, 30-day limits"] / rates["naive loop, 30-day limits"]
    print(
        f"speed-up over the naive loop at 30 days: {ratio:.1f}x (target: at least 10x); "
        f"0-60 days: {rates['line, limits 0-60 days']:,.0f}/s (target: at least 100,000/s)"
    )


if __name__ == "__main__":
    main()
