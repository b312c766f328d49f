"""Processing-time metrics over millions of events: lienthong's vectorised metrics against pm4py.

A synthetic event log (seeded): about 10 events per case, 30 activities of five procedures, 50
officers in 10 agencies, a channel and (for 90% of the cases) a deadline per case, timestamps
in 2025-2026 rising within each case by gaps of a minute to three days.

lienthong, timed: :func:`~workflow.history.history_from_log`, then
:func:`~workflow.metrics.procedure_metrics` (a declared baseline, so the confidence interval of
the median is computed) and :func:`~workflow.metrics.agency_times`, in working time on the default
:class:`~workflow.calendar.WorkingCalendar`; and, like for like with pm4py, each case's duration
in calendar time and the performance directly-follows graph (the mean time between each pair of
consecutive activities of a case), both with numpy on the same columns.

pm4py, timed: ``get_all_case_durations`` and ``discover_performance_dfg`` on a pandas DataFrame
of the same events (built once, untimed; its columns already have the types pm4py wants, so
``format_dataframe`` is not needed and not called). Both sides must give the same case
durations and the same mean per pair before anything is reported.

    python -m benchmarks.bench_metrics [--events N] [--seed S] [--no-memory]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from benchmarks.args import count
from workflow.calendar import WorkingCalendar
from workflow.history import NAT, EventLog, Labels, case_bounds, history_from_log
from workflow.metrics import Limits, MetricsOptions, agency_times, procedure_metrics

T = TypeVar("T")
F64 = npt.NDArray[np.float64]

LOG_NAME = "synthetic"
PROCEDURES = 5
STEPS = 6  # activities per procedure: 30 in all
AGENCIES = 10
OFFICERS_PER_AGENCY = 5
OFFICERS = AGENCIES * OFFICERS_PER_AGENCY  # 50 resources
CHANNELS = ("counter", "online", "post")
VERBS = ("receive", "check", "appraise", "consult", "approve", "return")
SECOND = 1_000_000
FIRST_START = 1_735_664_400 * SECOND  # 2025-01-01 00:00 at UTC+07:00
LAST_START = 1_788_195_600 * SECOND  # 2026-09-01 00:00 at UTC+07:00
MIN_GAP, MAX_GAP = 60, 3 * 86_400  # seconds
LIMITS = {(LOG_NAME, "log"): Limits("synthetic log", limit_days=15, baseline_days=10)}
TARGET = "target: at most 10 s for 10M events, and faster than pm4py"
CASE, ACTIVITY, TIMESTAMP, RESOURCE = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
)


@dataclass(frozen=True)
class Result:
    """One timed piece of work of one side."""

    side: str  # "lienthong" or "pm4py"
    work: str
    events: int
    cases: int
    seconds: float
    peak_mb: float | None = None  # traced peak of memory allocated, where measured

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


# --- the log ----------------------------------------------------------------------------------


def _labels(codes: npt.NDArray[np.integer[Any]], names: Sequence[str]) -> Labels:
    """Codes into ``names``, re-coded so that the names are sorted (as ``Labels.of`` gives)."""
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    return Labels(rank[codes], tuple(names[i] for i in order))


def make_log(events: int, seed: int) -> EventLog:
    """A synthetic log of exactly ``events`` events, sorted by case then instant, built from
    integer arrays (no per-event Python objects)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(8, 13, size=events // 8 + 1)  # 8-12 events per case
    case = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)[:events]
    count = int(case[-1]) + 1
    first, _ = case_bounds(case, count)
    position = np.arange(events, dtype=np.int64) - first[case]
    # instants: a start per case, then strictly rising by log-uniform gaps (whole seconds)
    start = rng.integers(FIRST_START // SECOND, LAST_START // SECOND, size=count) * SECOND
    gaps = np.exp(rng.uniform(np.log(MIN_GAP), np.log(MAX_GAP), size=events)).astype(np.int64)
    gaps[first] = 0
    elapsed = np.cumsum(gaps * SECOND)
    at = start[case] + elapsed - elapsed[first][case]
    # activities: each case follows its procedure's steps in order, a quarter of them at random
    procedure = rng.integers(0, PROCEDURES, size=count)
    step = np.where(rng.random(events) < 0.25, rng.integers(0, STEPS, size=events), position)
    step %= STEPS
    activity = procedure[case] * STEPS + step
    # agencies by procedure and step (a tenth elsewhere); officers belong to one agency
    agency = (procedure[case] * 2 + step // 3) % AGENCIES
    agency = np.where(rng.random(events) < 0.1, rng.integers(0, AGENCIES, size=events), agency)
    officer = agency * OFFICERS_PER_AGENCY + rng.integers(0, OFFICERS_PER_AGENCY, size=events)
    limit_days = rng.choice(np.array([3, 5, 7, 10, 15]), size=count)
    deadline = np.where(rng.random(count) < 0.9, start + limit_days * 86_400 * SECOND, NAT)
    channel = rng.choice(len(CHANNELS), size=count, p=[0.5, 0.4, 0.1])
    return EventLog(
        name=LOG_NAME,
        case_id=tuple(f"HS{i:09d}" for i in range(count)),
        case=case,
        activity=_labels(
            activity,
            [f"P{p + 1}.{s + 1} {VERBS[s]}" for p in range(PROCEDURES) for s in range(STEPS)],
        ),
        at=at.astype(np.int64),
        resource=_labels(officer, [f"officer-{r + 1:02d}" for r in range(OFFICERS)]),
        group=_labels(agency, [f"agency-{g + 1:02d}" for g in range(AGENCIES)]),
        channel=_labels(channel, CHANNELS),
        deadline=deadline.astype(np.int64),
    )


def make_frame(log: EventLog) -> Any:
    """The same events as the pandas DataFrame pm4py reads (string ids and activities, aware
    UTC timestamps), in the log's order."""
    import pandas as pd  # noqa: PLC0415

    def strings(labels: Labels) -> Any:
        return np.array(labels.names, dtype=object)[labels.codes]

    return pd.DataFrame(
        {
            CASE: np.array(log.case_id, dtype=object)[log.case],
            ACTIVITY: strings(log.activity),
            TIMESTAMP: pd.to_datetime(log.at, unit="us", utc=True),
            RESOURCE: strings(log.resource),
        }
    )


# --- lienthong's side -------------------------------------------------------------------------


def our_metrics(log: EventLog, calendar: WorkingCalendar) -> int:
    """Working-time metrics per procedure and per agency; returns how many rows they hold."""
    history = history_from_log(log)
    metrics = procedure_metrics(history, calendar, LIMITS, MetricsOptions(), keep_durations=False)
    agencies = agency_times(history, calendar)
    assert all(m.reduction_low is not None for m in metrics), "the bootstrap did not run"
    return len(metrics) + len(agencies)


def our_case_durations(log: EventLog) -> F64:
    """Seconds from each case's first event to its last (calendar time), in case order."""
    first, last = case_bounds(log.case, log.case_count)
    return (log.at[last] - log.at[first]) / SECOND


def our_performance_dfg(log: EventLog) -> dict[tuple[str, str], float]:
    """Mean seconds between consecutive events of a case, per (activity, next activity)."""
    n = len(log.activity.names)
    same = log.case[1:] == log.case[:-1]
    codes = log.activity.codes.astype(np.int64)
    pair = (codes[:-1] * n + codes[1:])[same]
    gap = np.diff(log.at)[same].astype(np.float64)
    count = np.bincount(pair, minlength=n * n)
    total = np.bincount(pair, weights=gap, minlength=n * n)
    names = log.activity.names
    return {
        (names[k // n], names[k % n]): float(total[k]) / SECOND / int(count[k])
        for k in np.flatnonzero(count).tolist()
    }


# --- pm4py's side -----------------------------------------------------------------------------


def _pm4py() -> Any:
    """pm4py, imported without its banner (a test-only dependency, AGPL: never the package's)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pm4py  # noqa: PLC0415
    return pm4py


def pm4py_case_durations(pm4py: Any, frame: Any) -> list[float]:
    return pm4py.get_all_case_durations(  # type: ignore[no-any-return]
        frame, activity_key=ACTIVITY, timestamp_key=TIMESTAMP, case_id_key=CASE
    )


def pm4py_performance_dfg(pm4py: Any, frame: Any) -> dict[tuple[str, str], float]:
    dfg, _, _ = pm4py.discover_performance_dfg(
        frame, activity_key=ACTIVITY, timestamp_key=TIMESTAMP, case_id_key=CASE
    )
    return {pair: float(values["mean"]) for pair, values in dfg.items()}


# --- checks and timing ------------------------------------------------------------------------


def check_same(
    ours: F64,
    theirs: Sequence[float],
    our_dfg: dict[tuple[str, str], float],
    their_dfg: dict[tuple[str, str], float],
) -> None:
    """Both sides agree: the same case durations (to the millisecond, as sorted lists: pm4py
    gives them without case ids) and the same pairs with the same means (1e-6 relative)."""
    mine, other = np.sort(ours), np.asarray(theirs, dtype=np.float64)
    assert mine.shape == other.shape, f"{len(mine)} cases against pm4py's {len(other)}"
    worst = float(np.max(np.abs(mine - other))) if len(mine) else 0.0
    assert worst < 1e-3, f"case durations differ from pm4py's by up to {worst} s"
    assert our_dfg.keys() == their_dfg.keys(), "the directly-follows pairs differ from pm4py's"
    differ = {
        p: (our_dfg[p], their_dfg[p])
        for p in our_dfg
        if abs(our_dfg[p] - their_dfg[p]) > 1e-6 * max(abs(their_dfg[p]), 1.0)
    }
    assert not differ, f"{len(differ)} pair means differ from pm4py's, e.g. {list(differ)[:3]}"


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        value = work()
        return value, time.perf_counter() - started
    finally:
        gc.enable()


def _peak_mb(work: Callable[[], object]) -> float:
    """Peak memory traced while ``work`` runs (numpy reports its arrays to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run(events: int = 10_000_000, seed: int = 7, *, memory: bool = True) -> list[Result]:
    """Both sides on the same log of ``events`` events; checks that they agree."""
    log = make_log(events, seed)
    cases = log.case_count
    calendar = WorkingCalendar()
    calendar.to_work_array(log.at[:1])  # build the day tables once (a deployment keeps them)

    def row(side: str, work: str, seconds: float, peak: float | None = None) -> Result:
        return Result(side, work, events, cases, seconds, peak)

    _, metrics_s = _timed(lambda: our_metrics(log, calendar))
    peak = _peak_mb(lambda: our_metrics(log, calendar)) if memory else None
    ours, durations_s = _timed(lambda: our_case_durations(log))
    our_dfg, dfg_s = _timed(lambda: our_performance_dfg(log))

    pm4py = _pm4py()
    frame = make_frame(log)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="pm4py")  # its notices, not the benchmark's
        theirs, their_durations_s = _timed(lambda: pm4py_case_durations(pm4py, frame))
        their_dfg, their_dfg_s = _timed(lambda: pm4py_performance_dfg(pm4py, frame))
    check_same(ours, theirs, our_dfg, their_dfg)
    return [
        row("lienthong", "working-time metrics (history, procedures, agencies)", metrics_s, peak),
        row("lienthong", "case durations (numpy)", durations_s),
        row("lienthong", "performance DFG means (numpy)", dfg_s),
        row("pm4py", "get_all_case_durations", their_durations_s),
        row("pm4py", "discover_performance_dfg", their_dfg_s),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=count, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true", help="skip the traced-memory pass")
    args = parser.parse_args()
    results = run(args.events, args.seed, memory=not args.no_memory)
    print(f"{results[0].events:,} events, {results[0].cases:,} cases; both sides agree")
    print(f"{'side':<10}{'work':<56}{'seconds':>9}{'events/s':>14}{'peak MB':>9}")
    for r in results:
        peak = f"{r.peak_mb:,.0f}" if r.peak_mb is not None else ""
        print(f"{r.side:<10}{r.work:<56}{r.seconds:>9.2f}{r.per_second:>14,.0f}{peak:>9}")
    metrics, durations, dfg, their_durations, their_dfg = (r.seconds for r in results)
    print(
        f"pm4py (both calls, {their_durations + their_dfg:.2f} s) / lienthong's metrics "
        f"({metrics:.2f} s): {(their_durations + their_dfg) / metrics:.2f}x"
    )
    print(
        f"like for like: case durations {their_durations / durations:.1f}x, "
        f"performance DFG {their_dfg / dfg:.1f}x, both "
        f"{(their_durations + their_dfg) / (durations + dfg):.1f}x faster than pm4py"
    )
    print(TARGET)


if __name__ == "__main__":
    main()
