"""Processing-time metrics per procedure: which procedures meet the plan's 20% goal.

Computed from a :class:`~workflow.history.History` (the engine's control sheets or an imported
event log) with array arithmetic on the working-time line of the calendar, so millions of
events take seconds.

For each procedure and version, over the dossiers *finished* in the period (status 9 reached;
the last event of a log's case):

- processing time in working days: from the clock's start (acceptance) to the finish, less the
  working time spent waiting for the applicant (supplements, fees); its median and p90; the
  median in calendar days too;
- on-time rate (early and on time together, of the finished dossiers with a due date), the
  early share, the late count (a dossier with more than one supplement request is late:
  Decision 766);
- where the time goes: the mean working days per dossier at each step and agency;
- the statutory limit, the baseline and the reduction against it.

The baseline of a procedure is the median processing time of its dossiers finished in a
*baseline period* (any version), when the period holds at least ``min_count`` of them; otherwise
the baseline the procedure version declares (``baseline_days``). A procedure **meets the 20%
goal** when its median is at least 20% below its baseline. Below ``min_count`` finished dossiers
there is no verdict ("not enough data"), so that three dossiers never make a success. Each
reduction comes with a 95% confidence interval from a bootstrap of the median (resampling the
dossiers; above 5,000 dossiers, the bootstrap's normal limit, the distribution-free interval of
order statistics); ``confirmed`` says the whole interval is at least the goal.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from workflow.calendar import WorkingCalendar
from workflow.errors import MetricsError
from workflow.history import NAT, History, VerdictCode, to_us

F64 = npt.NDArray[np.float64]
_DAY_US = 86_400_000_000
_EXACT_BOOTSTRAP_MAX = 5_000


class Goal(StrEnum):
    """Where a procedure stands against the 20% time-reduction goal."""

    MEETS = "meets"
    DOES_NOT_MEET = "does_not_meet"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_BASELINE = "no_baseline"


@dataclass(frozen=True, slots=True)
class Limits:
    """What the catalogue says of one procedure version: its name, statutory limit and
    declared baseline, in working days."""

    name: str = ""
    limit_days: float | None = None
    baseline_days: float | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of instants ``[start, end)``; ``None``: unbounded."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise MetricsError(
                    f"the period's {name} {value.isoformat()} has no timezone; "
                    "give an aware instant such as 2025-01-01T00:00:00+07:00"
                )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise MetricsError(
                f"the period ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()}); give --from before --to"
            )

    def mask(self, instants: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which instants fall in the period (missing instants never do)."""
        inside = instants != NAT
        if self.start is not None:
            inside &= instants >= to_us(self.start)
        if self.end is not None:
            inside &= instants < to_us(self.end)
        return inside  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class MetricsOptions:
    """How metrics are computed. ``baseline_period``: where measured baselines come from
    (``None``: declared baselines only); ``resamples``: of the bootstrap (0: no intervals)."""

    period: Period = Period()
    baseline_period: Period | None = None
    min_count: int = 30
    goal: float = 0.20
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 20210101

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise MetricsError(f"min_count must be at least 1, not {self.min_count}")
        if not 0 < self.goal < 1:
            raise MetricsError(f"the goal is a reduction between 0 and 1, not {self.goal}")
        if self.resamples < 0:
            raise MetricsError(f"resamples must be 0 (no intervals) or more, not {self.resamples}")
        if not 0.5 <= self.confidence < 1:
            raise MetricsError(f"confidence must be in [0.5, 1), not {self.confidence}")


@dataclass(frozen=True, slots=True)
class StepTime:
    """Mean working days per dossier spent at one step of one agency."""

    step: str
    agency: str
    dossiers: int
    mean_days: float
    share: float  # of all the agency time of the procedure's dossiers


@dataclass(frozen=True, slots=True)
class ProcedureMetrics:
    """The figures of one procedure version over a period. Days are working days."""

    procedure: str
    version: str
    name: str
    finished: int
    median_days: float | None
    p90_days: float | None
    median_calendar_days: float | None
    with_due: int
    on_time_rate: float | None
    early_share: float | None
    late: int
    limit_days: float | None
    baseline_days: float | None
    baseline_source: str | None  # "period" or "declared"
    baseline_count: int  # dossiers behind a measured baseline
    reduction: float | None
    reduction_low: float | None
    reduction_high: float | None
    goal: Goal
    confirmed: bool
    steps: tuple[StepTime, ...]
    durations_days: tuple[float, ...] = ()  # for plots; empty unless asked


@dataclass(frozen=True, slots=True)
class AgencyTime:
    """Working days the finished dossiers spent at one agency, in all."""

    agency: str
    dossiers: int
    mean_days: float
    total_days: float


@dataclass(frozen=True, slots=True)
class Durations:
    """Per finished case (of the period): working and calendar days, and where it belongs."""

    rows: npt.NDArray[np.intp]
    working_days: F64
    calendar_days: F64


def durations(history: History, calendar: WorkingCalendar, period: Period) -> Durations:
    """Processing time of each case finished in ``period``: working days from the clock's
    start to the finish, less the time waited for the applicant; calendar days likewise."""
    cases = history.cases
    rows = np.flatnonzero(period.mask(cases.finished) & (cases.started != NAT))
    start = cases.started[rows]
    end = cases.finished[rows]
    work = calendar.to_work_array(end) - calendar.to_work_array(start) - cases.paused[rows]
    return Durations(
        rows=rows,
        working_days=np.maximum(work, 0) / calendar.day_length,
        calendar_days=(end - start) / _DAY_US,
    )


def procedure_metrics(
    history: History,
    calendar: WorkingCalendar,
    limits: Mapping[tuple[str, str], Limits] | None = None,
    options: MetricsOptions = MetricsOptions(),
    *,
    keep_durations: bool = False,
) -> list[ProcedureMetrics]:
    """The metrics of every procedure version with a finished dossier in the period, sorted by
    procedure and version. ``limits`` gives the catalogue's names, limits and declared
    baselines, keyed by (code, version)."""
    limits = limits or {}
    cases = history.cases
    done = durations(history, calendar, options.period)
    baselines = _measured_baselines(history, calendar, options)
    steps = _step_times(history, calendar, done.rows)
    versions = len(cases.version.names) or 1
    group = cases.procedure.codes[done.rows].astype(np.int64) * versions + cases.version.codes[
        done.rows
    ].astype(np.int64)
    rng = np.random.default_rng(options.seed)
    results: list[ProcedureMetrics] = []
    for key in np.unique(group):
        members = group == key
        code = cases.procedure.names[int(key) // versions]
        version = cases.version.names[int(key) % versions] if cases.version.names else ""
        results.append(
            _one(
                code,
                version,
                limits.get((code, version), Limits()),
                done.working_days[members],
                done.calendar_days[members],
                cases.verdict[done.rows[members]],
                baselines.get(code),
                steps.get(int(key), ()),
                options,
                rng,
                keep_durations,
            )
        )
    return sorted(results, key=lambda m: (m.procedure, m.version))


def _one(
    code: str,
    version: str,
    declared: Limits,
    working: F64,
    calendar_days: F64,
    verdicts: npt.NDArray[np.int8],
    measured: tuple[float, int] | None,
    steps: tuple[StepTime, ...],
    options: MetricsOptions,
    rng: np.random.Generator,
    keep_durations: bool,
) -> ProcedureMetrics:
    count = len(working)
    with_due = int(np.count_nonzero(verdicts != VerdictCode.NONE))
    early = int(np.count_nonzero(verdicts == VerdictCode.EARLY))
    on_time = int(np.count_nonzero(verdicts == VerdictCode.ON_TIME))
    late = int(np.count_nonzero(verdicts == VerdictCode.LATE))
    median = float(np.median(working)) if count else None
    if measured is not None:
        baseline, source, baseline_count = measured[0], "period", measured[1]
    elif declared.baseline_days is not None:
        baseline, source, baseline_count = declared.baseline_days, "declared", 0
    else:
        baseline, source, baseline_count = None, None, 0
    reduction = low = high = None
    goal, confirmed = Goal.NO_BASELINE, False
    if baseline is not None and median is not None:
        reduction = 1 - median / baseline
        if options.resamples:
            ci_low, ci_high = median_interval(working, options.confidence, options.resamples, rng)
            low, high = 1 - ci_high / baseline, 1 - ci_low / baseline
        if count < options.min_count:
            goal = Goal.NOT_ENOUGH_DATA
        else:
            goal = Goal.MEETS if reduction >= options.goal - 1e-12 else Goal.DOES_NOT_MEET
            confirmed = goal is Goal.MEETS and low is not None and low >= options.goal - 1e-12
    return ProcedureMetrics(
        procedure=code,
        version=version,
        name=declared.name,
        finished=count,
        median_days=median,
        p90_days=float(np.quantile(working, 0.9)) if count else None,
        median_calendar_days=float(np.median(calendar_days)) if count else None,
        with_due=with_due,
        on_time_rate=(early + on_time) / with_due if with_due else None,
        early_share=early / with_due if with_due else None,
        late=late,
        limit_days=declared.limit_days,
        baseline_days=baseline,
        baseline_source=source,
        baseline_count=baseline_count,
        reduction=reduction,
        reduction_low=low,
        reduction_high=high,
        goal=goal,
        confirmed=confirmed,
        steps=steps,
        durations_days=tuple(working.tolist()) if keep_durations else (),
    )


def median_interval(
    values: F64, confidence: float, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """A bootstrap confidence interval of the median of ``values``.

    Up to 5,000 values: ``resamples`` resamples with replacement, the percentile interval.
    Above: the bootstrap distribution of the median is then, to within rounding, that of the
    order statistic whose rank is Binomial(n, 1/2), so the interval is read off the sorted
    values at n/2 ± z·√n/2 (no resampling of millions of values).
    """
    n = len(values)
    if n == 0:
        raise MetricsError("no values to take a median of")
    tail = (1 - confidence) / 2
    if n > _EXACT_BOOTSTRAP_MAX:
        ordered = np.sort(values)
        z = statistics.NormalDist().inv_cdf(1 - tail)
        half = z * math.sqrt(n) / 2
        return (
            float(ordered[max(0, math.floor(n / 2 - half))]),
            float(ordered[min(n - 1, math.ceil(n / 2 + half))]),
        )
    medians = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // n)
    for first in range(0, resamples, chunk):
        size = min(chunk, resamples - first)
        picks = rng.integers(0, n, size=(size, n))
        medians[first : first + size] = np.median(values[picks], axis=1)
    low, high = np.quantile(medians, [tail, 1 - tail])
    return float(low), float(high)


def _measured_baselines(
    history: History, calendar: WorkingCalendar, options: MetricsOptions
) -> dict[str, tuple[float, int]]:
    """Median working days per procedure code over the baseline period, where it holds at least
    ``min_count`` finished dossiers."""
    if options.baseline_period is None:
        return {}
    done = durations(history, calendar, options.baseline_period)
    codes = history.cases.procedure.codes[done.rows]
    found: dict[str, tuple[float, int]] = {}
    for code in np.unique(codes):
        values = done.working_days[codes == code]
        if len(values) >= options.min_count:
            found[history.cases.procedure.names[int(code)]] = (
                float(np.median(values)),
                len(values),
            )
    return found


def _agency_work(
    history: History, calendar: WorkingCalendar, finished_rows: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """The segments of the given cases that count as agency time, and their working µs: each
    cut to its case's clock (start to finish), those spent waiting for the applicant left out."""
    cases, segments = history.cases, history.segments
    chosen = np.zeros(len(cases), dtype=np.bool_)
    chosen[finished_rows] = True
    counted = chosen[segments.case]
    counted &= segments.end != NAT
    if segments.waiting.any():
        counted &= ~segments.waiting
    if counted.all():  # every segment: no copies
        rows = np.arange(len(segments), dtype=np.intp)
        case, begin, end = segments.case, segments.start, segments.end
    else:
        rows = np.flatnonzero(counted)
        case, begin, end = segments.case[rows], segments.start[rows], segments.end[rows]
    begin = np.maximum(begin, cases.started[case])
    end = np.minimum(end, cases.finished[case])
    keep = end > begin
    if not keep.all():
        rows, begin, end = rows[keep], begin[keep], end[keep]
    return rows, _work_between(calendar, begin, end)


def _work_between(
    calendar: WorkingCalendar, begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Working µs from each ``begin`` to its ``end``. Where a stretch begins at the previous
    stretch's end (consecutive segments of a case), that instant is put on the working-time
    line once."""
    at_end = calendar.to_work_array(end)
    if len(begin) == 0:
        return at_end
    shared = np.zeros(len(begin), dtype=np.bool_)
    np.equal(begin[1:], end[:-1], out=shared[1:])
    own = np.flatnonzero(~shared)
    if len(own) > len(begin) // 2:
        return at_end - calendar.to_work_array(begin)
    at_begin = np.empty_like(at_end)
    at_begin[1:] = at_end[:-1]
    at_begin[own] = calendar.to_work_array(begin[own])
    at_end -= at_begin
    return at_end


def _step_times(
    history: History, calendar: WorkingCalendar, finished_rows: npt.NDArray[np.intp]
) -> dict[int, tuple[StepTime, ...]]:
    """Mean working days per dossier at each (step, agency), per procedure-version group."""
    cases, segments = history.cases, history.segments
    rows, work = _agency_work(history, calendar, finished_rows)
    if len(rows) == 0:
        return {}
    case = segments.case[rows]
    versions = len(cases.version.names) or 1
    group = cases.procedure.codes[case].astype(np.int64) * versions + cases.version.codes[case]
    n_steps = len(segments.step.names) + 1
    n_agencies = len(segments.agency.names) + 1
    place = (segments.step.codes[rows].astype(np.int64) + 1) * n_agencies + (
        segments.agency.codes[rows] + 1
    )
    keys, inverse = _compact(group * (n_steps * n_agencies) + place)
    total = np.bincount(inverse, weights=work.astype(np.float64))
    dossiers = _distinct_cases(case, inverse, len(keys))
    found: dict[int, list[StepTime]] = {}
    group_total: dict[int, float] = {}
    for i, k in enumerate(keys.tolist()):
        g = k // (n_steps * n_agencies)
        group_total[g] = group_total.get(g, 0.0) + float(total[i])
    for i, k in enumerate(keys.tolist()):
        g, p = divmod(k, n_steps * n_agencies)
        s, a = divmod(p, n_agencies)
        found.setdefault(g, []).append(
            StepTime(
                step=segments.step.names[s - 1] if s else "",
                agency=segments.agency.names[a - 1] if a else "",
                dossiers=int(dossiers[i]),
                mean_days=float(total[i]) / int(dossiers[i]) / calendar.day_length,
                share=float(total[i]) / group_total[g] if group_total[g] else 0.0,
            )
        )
    return {g: tuple(sorted(v, key=lambda t: -t.share)) for g, v in found.items()}


def agency_times(
    history: History, calendar: WorkingCalendar, period: Period = Period()
) -> list[AgencyTime]:
    """Working days per agency over the dossiers finished in ``period``, most time first."""
    done = durations(history, calendar, period)
    rows, work = _agency_work(history, calendar, done.rows)
    segments = history.segments
    slot = segments.agency.codes[rows].astype(np.int64) + 1  # 0: no agency
    slots = len(segments.agency.names) + 1
    totals = np.bincount(slot, weights=work.astype(np.float64), minlength=slots)
    dossiers = _distinct_cases(segments.case[rows], slot, slots)
    times: list[AgencyTime] = []
    for s in np.flatnonzero(dossiers).tolist():
        total = float(totals[s]) / calendar.day_length
        times.append(
            AgencyTime(
                agency=segments.agency.names[s - 1] if s else "",
                dossiers=int(dossiers[s]),
                mean_days=total / int(dossiers[s]),
                total_days=total,
            )
        )
    return sorted(times, key=lambda t: -t.total_days)


def _compact(
    key: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The sorted distinct values of ``key`` and the index of each element's value among them,
    as ``np.unique(key, return_inverse=True)`` gives: by a table over the values where they are
    few and none is negative, by sorting otherwise."""
    size = int(key.max()) + 1 if len(key) else 0
    if size > max(2 * len(key), 1 << 16) or (len(key) and int(key.min()) < 0):
        keys, inverse = np.unique(key, return_inverse=True)
        return keys, inverse.astype(np.intp, copy=False)
    present = np.zeros(size, dtype=np.bool_)
    present[key] = True
    index = np.cumsum(present, dtype=np.intp) - 1
    return np.flatnonzero(present).astype(np.int64), index[key]


def _distinct_cases(
    case: npt.NDArray[np.int64], slot: npt.NDArray[np.intp] | npt.NDArray[np.int64], slots: int
) -> npt.NDArray[np.int64]:
    """How many distinct cases each slot (0 to ``slots`` - 1) holds. Sorts the (case, slot)
    pairs: numpy's ``unique`` hashes them, which is tens of times slower on millions of
    distinct pairs."""
    if len(case) == 0:
        return np.zeros(slots, dtype=np.int64)
    pairs = np.sort(case * slots + slot)
    first = np.empty(len(pairs), dtype=np.bool_)
    first[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    return np.bincount(pairs[first] % slots, minlength=slots)
