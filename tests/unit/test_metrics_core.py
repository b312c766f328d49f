"""The pure metrics core on small, hand-made logs: every figure checked against arithmetic done
by hand, the vectorised calendar against the scalar one, and the bootstrap's behaviour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar import VIETNAM, WorkingCalendar
from workflow.errors import InvalidLog, MetricsError
from workflow.history import EventLog, VerdictCode, history_from_log, to_us
from workflow.metrics import (
    Goal,
    Limits,
    MetricsOptions,
    Period,
    agency_times,
    median_interval,
    procedure_metrics,
)
from workflow.scorecard import months, scorecard

CALENDAR = WorkingCalendar()


def at(day: int, hour: int, minute: int = 0) -> int:
    """An instant of March 2026 (Monday the 2nd is a working day), local time."""
    return to_us(dt.datetime(2026, 3, day, hour, minute, tzinfo=VIETNAM))


def small_log() -> EventLog:
    """Three cases (working hours 08-12 and 13-17). c1: Mon 08:00 -> Mon 16:00 (7 working
    hours), due Tue: early.
    c2: Mon 08:00 -> Tue 12:00 (1.5 days), due Tue 17:00: on time.
    c3: Fri 16:00 -> Mon 09:00 (2 working hours over the weekend), due Fri: late."""
    rows = [
        ("c2", "receive", at(2, 8), "r1", "ward"),
        ("c1", "receive", at(2, 8), "r1", "ward"),
        ("c1", "decide", at(2, 16), "r2", "police"),
        ("c2", "check", at(3, 9), "r2", "police"),
        ("c2", "decide", at(3, 12), "r3", "police"),
        ("c3", "receive", at(6, 16), "r1", "ward"),
        ("c3", "decide", at(9, 9), "r2", "police"),
    ]
    return EventLog.build(
        "tiny",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
        {"c1": "online", "c2": "counter", "c3": "online"},
        {"c1": at(3, 17), "c2": at(3, 17), "c3": at(6, 17)},
    )


def test_a_log_becomes_cases_and_segments_sorted_by_case_and_time() -> None:
    log = small_log()
    assert log.case_id == ("c1", "c2", "c3") and len(log) == 7
    history = history_from_log(log)
    cases = history.cases
    assert list(cases.verdict) == [VerdictCode.EARLY, VerdictCode.ON_TIME, VerdictCode.LATE]
    segments = history.segments
    assert len(segments) == 4  # each event after a case's first closes one
    assert [segments.step.name(i) for i in range(4)] == ["decide", "check", "decide", "decide"]
    assert [segments.agency.name(i) for i in range(4)] == ["police"] * 4


def test_metrics_of_the_small_log_by_hand() -> None:
    history = history_from_log(small_log())
    limits = {("tiny", "log"): Limits("tiny", limit_days=2, baseline_days=2.5)}
    [m] = procedure_metrics(history, CALENDAR, limits, MetricsOptions(min_count=3))
    # working days 0.875, 1.5 and 0.25 (Fri 16-17 and Mon 08-09)
    assert m.finished == 3
    assert m.median_days == pytest.approx(0.875)
    assert m.p90_days == pytest.approx(1.375)  # linear between 0.875 and 1.5
    assert m.median_calendar_days == pytest.approx(28 / 24)  # c2: Mon 08 -> Tue 12
    assert m.on_time_rate == pytest.approx(2 / 3) and m.early_share == pytest.approx(1 / 3)
    assert m.late == 1 and m.with_due == 3
    assert m.reduction == pytest.approx(0.65) and m.goal is Goal.MEETS
    assert m.baseline_source == "declared" and m.limit_days == 2
    steps = {(s.step, s.agency): s for s in m.steps}
    assert steps[("decide", "police")].dossiers == 3
    # c1 7 h + c2 3 h (Tue 09-12) + c3 2 h = 12 working hours over 3 dossiers
    assert steps[("decide", "police")].mean_days == pytest.approx(12 / 8 / 3)
    assert steps[("check", "police")].mean_days == pytest.approx(9 / 8)  # Mon 08 -> Tue 09
    [police] = agency_times(history, CALENDAR)
    assert police.agency == "police" and police.total_days == pytest.approx(21 / 8)


def test_three_dossiers_never_make_a_success() -> None:
    history = history_from_log(small_log())
    limits = {("tiny", "log"): Limits("tiny", baseline_days=10)}
    [m] = procedure_metrics(history, CALENDAR, limits, MetricsOptions())
    assert m.reduction is not None and m.reduction > 0.8
    assert m.goal is Goal.NOT_ENOUGH_DATA and not m.confirmed


def test_the_bootstrap_is_seeded_and_brackets_the_median() -> None:
    rng = np.random.default_rng(1)
    values = rng.exponential(3.0, size=400)
    first = median_interval(values, 0.95, 500, np.random.default_rng(7))
    again = median_interval(values, 0.95, 500, np.random.default_rng(7))
    assert first == again
    assert first[0] < float(np.median(values)) < first[1]
    wide = median_interval(values[:20], 0.95, 500, np.random.default_rng(7))
    assert wide[1] - wide[0] > first[1] - first[0]  # fewer dossiers, wider interval
    big = rng.exponential(3.0, size=50_000)  # the order-statistic path
    low, high = median_interval(big, 0.95, 500, np.random.default_rng(7))
    assert low < float(np.median(big)) < high and high - low < 0.1
    with pytest.raises(MetricsError, match="no values"):
        median_interval(np.empty(0), 0.95, 10, np.random.default_rng(7))


def test_bad_options_are_refused_by_name() -> None:
    with pytest.raises(MetricsError, match="min_count"):
        MetricsOptions(min_count=0)
    with pytest.raises(MetricsError, match="goal"):
        MetricsOptions(goal=1.5)
    with pytest.raises(MetricsError, match="confidence"):
        MetricsOptions(confidence=1.0)


def test_an_empty_log_is_refused() -> None:
    with pytest.raises(InvalidLog, match="no events"):
        EventLog.build("empty", [], [], [], [], [], {}, {})


def test_scorecard_of_a_log_has_no_handovers_or_ratings_to_count() -> None:
    history = history_from_log(small_log())
    card = scorecard(history, CALENDAR, Period())
    by_key = {i.key: i for i in card.indicators}
    assert by_key["online_share"].value == pytest.approx(2 / 3)
    assert by_key["online_share"].met is True
    assert by_key["electronic_handovers"].value is None
    assert by_key["electronic_handovers"].met is None
    assert by_key["satisfaction"].value is None
    assert by_key["digitised_results"].value == 0.0 and by_key["digitised_results"].met is False


def test_months_cut_the_period_at_month_starts() -> None:
    start = dt.datetime(2025, 11, 15, tzinfo=VIETNAM)
    end = dt.datetime(2026, 2, 10, tzinfo=VIETNAM)
    bounds = months(start, end, VIETNAM)
    assert bounds[0] == start and bounds[-1] == end
    assert [b.strftime("%Y-%m-%d") for b in bounds[1:-1]] == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]


instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=VIETNAM)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(instants, min_size=1, max_size=50))
def test_the_vectorised_working_time_line_equals_the_scalar_one(
    moments: list[dt.datetime],
) -> None:
    calendar = WorkingCalendar()
    found = calendar.to_work_array(np.array([to_us(m) for m in moments], dtype=np.int64))
    assert found.tolist() == [calendar.to_work(m) for m in moments]


def test_a_calendar_read_in_another_zone_keeps_its_days_and_hours() -> None:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    amsterdam = CALENDAR.in_zone(ZoneInfo("Europe/Amsterdam"))
    assert amsterdam.working_hours == CALENDAR.working_hours
    morning = dt.datetime(2026, 3, 3, 9, tzinfo=ZoneInfo("Europe/Amsterdam"))
    noon = dt.datetime(2026, 3, 3, 12, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert amsterdam.working_time(morning, noon) == dt.timedelta(hours=3)
    assert CALENDAR.working_time(morning, noon) == dt.timedelta(hours=2)  # 15:00-18:00 in Hà Nội
