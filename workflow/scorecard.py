"""The reform scorecard: every target of Hà Nội's 2021-2025 plan, measured from the history.

Each indicator has its value over the period, its target, whether it is met, the counts behind
it and its trend by month (each month on its own; the share of procedures meeting the goal is
counted from the period's start to each month's end, since a procedure's verdict needs many
dossiers). The indicators, and what each counts:

- ``procedures_meeting_goal``: of the procedure versions with a verdict (enough finished
  dossiers and a baseline), the share whose median processing time is at least 20% below the
  baseline (:mod:`workflow.metrics`); target 20% (the plan: 20% more procedures shortened);
- ``online_share``: of the dossiers received in the period, the share received online; >= 50%;
- ``electronic_handovers``: of the hand-overs between agencies in the period, the share carried
  as signed electronic messages and not given up as undeliverable; >= 80%;
- ``digitised_results``: of the dossiers finished in the period, the share with an electronic
  result (Decree 45/2020); 100%;
- ``satisfaction``: of the applicants' ratings given in the period, the share satisfied or very
  satisfied; >= 95%;
- ``on_time_766``: Decision 766/QĐ-TTg, indicator 2.1: of the dossiers accepted in the period
  (withdrawn ones left out), those finished early or on time, or still open and not yet due at
  the period's end; supplement time is not counted (it moves the due instant). Target 95%, the
  plan's satisfaction target, configurable: the decision scores the rate, it sets no threshold.

An indicator with nothing to count (no ratings yet, a log without hand-overs) has no value and
is neither met nor missed.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from workflow.calendar import WorkingCalendar
from workflow.errors import MetricsError
from workflow.history import NAT, History, VerdictCode, from_us, to_us
from workflow.metrics import Goal, Limits, MetricsOptions, Period, procedure_metrics

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Target:
    """One indicator of the plan: its key, names and the share it must reach."""

    key: str
    name_vi: str
    name_en: str
    target: float


PLAN: tuple[Target, ...] = (
    Target(
        "procedures_meeting_goal",
        "Tỷ lệ TTHC được rút ngắn thời gian giải quyết (≥ 20%)",
        "Procedures at least 20% faster than their baseline",
        0.20,
    ),
    Target(
        "online_share",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "Dossiers received online",
        0.50,
    ),
    Target(
        "electronic_handovers",
        "Tỷ lệ hồ sơ luân chuyển giữa các cơ quan bằng phương thức điện tử",
        "Inter-agency hand-overs done electronically",
        0.80,
    ),
    Target(
        "digitised_results",
        "Tỷ lệ hồ sơ giải quyết xong được số hóa, có kết quả điện tử",
        "Finished dossiers digitised with an electronic result",
        1.00,
    ),
    Target(
        "satisfaction",
        "Mức độ hài lòng của người dân, tổ chức",
        "Applicants satisfied",
        0.95,
    ),
    Target(
        "on_time_766",
        "Tỷ lệ hồ sơ giải quyết đúng hạn (QĐ 766, chỉ số 2.1)",
        "On-time rate (Decision 766, indicator 2.1)",
        0.95,
    ),
)


@dataclass(frozen=True, slots=True)
class Share:
    """A count out of a count; ``value`` is ``None`` when there is nothing to count."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class MonthValue:
    """One month of an indicator's trend (``month``: YYYY-MM)."""

    month: str
    numerator: int
    denominator: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Indicator:
    """One line of the scorecard."""

    key: str
    name_vi: str
    name_en: str
    value: float | None
    target: float
    met: bool | None
    numerator: int
    denominator: int
    trend: tuple[MonthValue, ...]


@dataclass(frozen=True, slots=True)
class Scorecard:
    """The plan's indicators over ``[start, end)``, measured from ``source``."""

    source: str
    start: dt.datetime
    end: dt.datetime
    indicators: tuple[Indicator, ...]


def months(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[dt.datetime]:
    """The local month starts from ``start``'s month up to ``end``, plus ``end`` itself, as
    the boundaries of the trend (the first and last months are cut to the period)."""
    local = start.astimezone(tz)
    cursor = dt.datetime(local.year, local.month, 1, tzinfo=tz)
    bounds = [start]
    while True:
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
        if cursor >= end:
            break
        bounds.append(cursor)
    bounds.append(end)
    return bounds


def scorecard(
    history: History,
    calendar: WorkingCalendar,
    period: Period,
    limits: Mapping[tuple[str, str], Limits] | None = None,
    options: MetricsOptions | None = None,
    targets: Mapping[str, float] | None = None,
) -> Scorecard:
    """Every indicator of :data:`PLAN` over ``period``, with its monthly trend.

    An open-ended period is closed by the history itself (its first and last instants). The
    trend covers the months of the period that the history spans: months before its first or
    after its last instant hold nothing to count, and a period of centuries would otherwise
    mean thousands of empty months, each measured."""
    start, end = _bounds(history, period)
    first, last = _span(history) or (end, end)
    spanned = max(start, first), min(end, last)  # empty when the history lies outside
    bounds = months(*spanned, calendar.tz) if spanned[0] < spanned[1] else []
    counters = _counters(history, calendar, limits or {}, options or MetricsOptions())
    indicators = []
    for target in PLAN:
        goal = (targets or {}).get(target.key, target.target)
        count = counters[target.key]
        whole = count(start, end)
        trend = []
        for month_start, month_end in itertools.pairwise(bounds):
            cumulative = target.key == "procedures_meeting_goal"
            share = count(start if cumulative else month_start, month_end)
            trend.append(
                MonthValue(
                    month_start.astimezone(calendar.tz).strftime("%Y-%m"),
                    share.numerator,
                    share.denominator,
                    share.value,
                )
            )
        value = whole.value
        indicators.append(
            Indicator(
                key=target.key,
                name_vi=target.name_vi,
                name_en=target.name_en,
                value=value,
                target=goal,
                met=None if value is None else value >= goal - 1e-12,
                numerator=whole.numerator,
                denominator=whole.denominator,
                trend=tuple(trend),
            )
        )
    return Scorecard(history.source, start, end, tuple(indicators))


def _span(history: History) -> tuple[dt.datetime, dt.datetime] | None:
    """The first instant the history records and the instant just after its last (receipts,
    finishes, hand-overs, ratings); ``None`` for an empty history."""
    cases = history.cases
    arrays = (cases.received, cases.finished, history.handover_at, history.rating_at)
    present = [known for a in arrays if len(known := a[a != NAT])]
    if not present:
        return None
    first = from_us(int(min(int(a.min()) for a in present)))
    last = from_us(int(max(int(a.max()) for a in present)) + 1)
    assert first is not None and last is not None
    return first, last


def _bounds(history: History, period: Period) -> tuple[dt.datetime, dt.datetime]:
    start, end = period.start, period.end
    if start is None or end is None:
        span = _span(history)
        if span is None:
            raise MetricsError("the history is empty: give --from and --to, or record dossiers")
        start = span[0] if start is None else start
        end = span[1] if end is None else end
    if end <= start:
        raise MetricsError("the period is empty: give --to after --from")
    return start, end


Counter = Callable[[dt.datetime, dt.datetime], Share]


def _within(instants: npt.NDArray[np.int64], start: dt.datetime, end: dt.datetime) -> Bools:
    inside: Bools = (instants != NAT) & (instants >= to_us(start)) & (instants < to_us(end))
    return inside


def _share(hits: Bools, among: Bools) -> Share:
    return Share(int(np.count_nonzero(hits & among)), int(np.count_nonzero(among)))


def _counters(
    history: History,
    calendar: WorkingCalendar,
    limits: Mapping[tuple[str, str], Limits],
    options: MetricsOptions,
) -> dict[str, Counter]:
    cases = history.cases
    online_code = cases.channel.names.index("online") if "online" in cases.channel.names else -2
    online = cases.channel.codes == online_code
    finished = cases.finished != NAT
    withdrawn = cases.status == 7
    in_time = np.isin(cases.verdict, (VerdictCode.EARLY, VerdictCode.ON_TIME))
    satisfied = history.rating_satisfied

    def goal(start: dt.datetime, end: dt.datetime) -> Share:
        window = replace(options, period=Period(start, end), resamples=0)  # verdicts only
        found = procedure_metrics(history, calendar, limits, window)
        verdicts = [m.goal for m in found if m.goal in (Goal.MEETS, Goal.DOES_NOT_MEET)]
        return Share(sum(g is Goal.MEETS for g in verdicts), len(verdicts))

    def online_share(start: dt.datetime, end: dt.datetime) -> Share:
        return _share(online, _within(cases.received, start, end))

    def handovers(start: dt.datetime, end: dt.datetime) -> Share:
        if not history.has_handovers:
            return Share(0, 0)
        among = _within(history.handover_at, start, end)
        return _share(history.handover_electronic, among)

    def digitised(start: dt.datetime, end: dt.datetime) -> Share:
        return _share(cases.electronic_result, _within(cases.finished, start, end))

    def satisfaction(start: dt.datetime, end: dt.datetime) -> Share:
        if not history.has_ratings:
            return Share(0, 0)
        return _share(satisfied, _within(history.rating_at, start, end))

    def on_time(start: dt.datetime, end: dt.datetime) -> Share:
        stop = to_us(end)
        accepted = _within(cases.started, start, end) & ~(withdrawn & (cases.closed_at < stop))
        done_in_time = finished & (cases.finished < stop) & in_time
        still_open = ~(finished & (cases.finished < stop)) & ~(
            (cases.closed_at != NAT) & (cases.closed_at < stop)
        )
        not_due = ((cases.due == NAT) | (cases.due >= stop)) & (cases.supplements <= 1)
        return _share(done_in_time | (still_open & not_due), accepted)

    return {
        "procedures_meeting_goal": goal,
        "online_share": online_share,
        "electronic_handovers": handovers,
        "digitised_results": digitised,
        "satisfaction": satisfaction,
        "on_time_766": on_time,
    }
