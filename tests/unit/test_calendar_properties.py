"""Properties of the due rule, checked with hypothesis over years of calendar."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from procedures.calendar_file import load_calendar
from tests.conftest import VN
from workflow.calendar import Pause

CAL = load_calendar()
HOUR = dt.timedelta(hours=1)

instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=VN, microsecond=0)
)
limits = st.integers(min_value=0, max_value=120).map(lambda n: n / 2)  # 0 to 60 days by halves
hours = st.integers(min_value=0, max_value=80).map(lambda n: dt.timedelta(minutes=30 * n))


def _in_working_time(instant: dt.datetime) -> bool:
    local = instant.astimezone(VN)
    if not CAL.is_working_day(local.date()):
        return False
    return any(start <= local.time() <= end for start, end in CAL.working_hours)


@settings(max_examples=300, deadline=None)
@given(start=instants, days=limits)
def test_due_never_falls_outside_working_time(start: dt.datetime, days: float) -> None:
    due = CAL.due(start, days)
    assert _in_working_time(due)
    assert due > start


@settings(max_examples=300, deadline=None)
@given(start=instants, days=limits.filter(lambda d: d > 0))
def test_due_is_n_working_days_after_the_start(start: dt.datetime, days: float) -> None:
    assert CAL.working_time(start, CAL.due(start, days)) == days * 8 * HOUR


@settings(max_examples=300, deadline=None)
@given(start=instants, days=limits, offset=hours, length=hours)
def test_a_pause_of_w_working_hours_moves_the_due_by_exactly_w(
    start: dt.datetime, days: float, offset: dt.timedelta, length: dt.timedelta
) -> None:
    clock_start = CAL.clock_start(start, same_day=days == 0)
    pause_start = CAL.add(clock_start, offset)
    pause = Pause(pause_start, CAL.add(pause_start, length))
    w = CAL.working_time(pause.start, pause.end)
    assert w == length
    plain, paused = CAL.due(start, days), CAL.due(start, days, [pause])
    assert CAL.working_time(plain, paused) == w
    assert _in_working_time(paused)


@settings(max_examples=300, deadline=None)
@given(first=instants, second=instants, days=limits, more=limits)
def test_due_is_monotone_in_start_and_limit(
    first: dt.datetime, second: dt.datetime, days: float, more: float
) -> None:
    early, late = sorted((first, second))
    assert CAL.due(early, days) <= CAL.due(late, days)
    # monotone in N among counted limits; same day (N = 0) is a rule of its own: the end of the
    # day, which may be later than a half-day count from the same start
    if days > 0:
        assert CAL.due(early, days) <= CAL.due(early, days + more)
