"""The working-day calendar: hand-worked cases and bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from procedures.calendar_file import load_calendar
from tests.conftest import VN
from workflow.calendar import Override, OverrideKind, Pause, WorkingCalendar
from workflow.errors import (
    CalendarError,
    DefinitionError,
    InvalidLimit,
    InvalidPause,
    NaiveDatetime,
)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN)  # type: ignore[misc]


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar()


def test_tet_2026_a_3_day_dossier_of_friday_13_february(cal: WorkingCalendar) -> None:
    due = cal.due(at(2026, 2, 13, 9), 3)
    assert due >= at(2026, 2, 23)
    # Fri 13th 09-17 (7 h), Mon 23rd (8 h), Tue 24th (8 h), Wed 25th 08-09 (1 h)
    assert due == at(2026, 2, 25, 9)
    for day in range(16, 21):
        assert not cal.is_working_day(dt.date(2026, 2, day))


def test_make_up_saturday_and_swapped_monday_2026(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(dt.date(2026, 8, 22))  # Saturday worked
    assert not cal.is_working_day(dt.date(2026, 8, 31))  # Monday off
    assert not cal.is_working_day(dt.date(2026, 8, 29))  # an ordinary Saturday
    assert cal.due(at(2026, 8, 20, 9), 2) == at(2026, 8, 22, 9)  # counts the worked Saturday
    # Fri 28th 09-17, then Mon 31, Tue 1/9 and Wed 2/9 off: Thu 3/9 at 09:00
    assert cal.due(at(2026, 8, 28, 9), 1) == at(2026, 9, 3, 9)


def test_sources_of_days(cal: WorkingCalendar) -> None:
    days = {d.day: d for d in cal.days(2026)}
    assert days[dt.date(2026, 2, 17)].source == "package"
    assert days[dt.date(2026, 8, 22)].kind is OverrideKind.WORKING_DAY
    assert days[dt.date(2026, 8, 22)].source == "package, override"
    assert days[dt.date(2026, 8, 31)].kind is OverrideKind.DAY_OFF


def test_an_override_wins_over_the_package() -> None:
    cal = WorkingCalendar(
        overrides=[
            Override(dt.date(2026, 11, 24), OverrideKind.WORKING_DAY, "worked"),
            Override(dt.date(2026, 3, 3), OverrideKind.DAY_OFF, "city day off"),
        ]
    )
    assert cal.is_working_day(dt.date(2026, 11, 24))
    assert cal.due(at(2026, 3, 2, 17), 1) == at(2026, 3, 4, 17)
    assert {d.source for d in cal.days(2026) if d.day == dt.date(2026, 3, 3)} == {"override"}


def test_pause_across_a_weekend(cal: WorkingCalendar) -> None:
    # Fri 6 March 09:00 + 1 day is Mon 9 March 09:00; paused Fri 16:00 to Mon 09:00 = 2 h
    pause = Pause(at(2026, 3, 6, 16), at(2026, 3, 9, 9))
    assert cal.due(at(2026, 3, 6, 9), 1) == at(2026, 3, 9, 9)
    assert cal.due(at(2026, 3, 6, 9), 1, [pause]) == at(2026, 3, 9, 11)
    assert cal.paused(at(2026, 3, 6, 9), [pause]) == dt.timedelta(hours=2)


def test_a_pause_before_the_clock_starts_does_not_count(cal: WorkingCalendar) -> None:
    pause = Pause(at(2026, 3, 5, 9), at(2026, 3, 6, 10))
    assert cal.due(at(2026, 3, 6, 9), 1, [pause]) == at(2026, 3, 9, 10)


def test_half_day_limit(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 3, 2, 8), 0.5) == at(2026, 3, 2, 12)  # ends at 12:00, not 13:00
    assert cal.due(at(2026, 3, 2, 10), 0.5) == at(2026, 3, 2, 15)  # 10-12, 13-15
    assert cal.due(at(2026, 3, 7, 10), 0.5) == at(2026, 3, 9, 12)  # Saturday: starts Monday


def test_a_count_ending_at_the_close_ends_there(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 3, 2, 8), 1) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 2, 8), 5) == at(2026, 3, 6, 17)


def test_start_outside_working_time(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 3, 2, 6, 30), 1) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 2, 12, 30), 0.5) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 6, 20), 1) == at(2026, 3, 9, 17)
    assert cal.next_working_instant(at(2026, 3, 2, 12)) == at(2026, 3, 2, 13)
    assert cal.next_working_instant(at(2026, 3, 6, 17)) == at(2026, 3, 9, 8)
    assert cal.next_working_instant(at(2026, 3, 2, 9, 15)) == at(2026, 3, 2, 9, 15)


def test_same_day_and_the_cutoff(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 3, 2, 9), 0) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 2, 14, 59), 0) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 2, 15, 0), 0) == at(2026, 3, 3, 17)  # at the cut-off: next day
    assert cal.due(at(2026, 3, 6, 15, 30), 0) == at(2026, 3, 9, 17)  # Friday: Monday
    assert cal.due(at(2026, 3, 2, 15, 30), 0, cutoff=dt.time(16)) == at(2026, 3, 2, 17)
    assert cal.due(at(2026, 3, 7, 9), 0) == at(2026, 3, 9, 17)  # Saturday: Monday
    assert cal.due(at(2026, 2, 13, 16), 0) == at(2026, 2, 23, 17)  # before Tết: after it


def test_other_timezones_are_converted(cal: WorkingCalendar) -> None:
    utc = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 09:00 in Hà Nội
    assert cal.due(utc, 1) == at(2026, 3, 3, 9)
    assert cal.working_time(utc, at(2026, 3, 2, 10)) == dt.timedelta(hours=1)


def test_configurable_hours() -> None:
    cal = WorkingCalendar(hours=[(dt.time(7), dt.time(11, 30)), (dt.time(13, 30), dt.time(17))])
    assert cal.day_length == 8 * 3_600_000_000
    assert cal.due(at(2026, 3, 2, 7), 0.5) == at(2026, 3, 2, 11)
    assert cal.due(at(2026, 3, 2, 7), 1) == at(2026, 3, 2, 17)
    with pytest.raises(CalendarError, match="working hours must be"):
        WorkingCalendar(hours=[(dt.time(13), dt.time(12))])


def test_bad_input_is_named(cal: WorkingCalendar) -> None:
    with pytest.raises(NaiveDatetime, match="has no timezone"):
        cal.due(dt.datetime(2026, 3, 2, 9), 1)
    with pytest.raises(InvalidLimit, match="limit -1 working days is invalid"):
        cal.due(at(2026, 3, 2, 9), -1)
    with pytest.raises(InvalidLimit, match=r"limit 1\.3 working days is invalid"):
        cal.due(at(2026, 3, 2, 9), 1.3)
    with pytest.raises(InvalidPause, match="ends before it starts"):
        cal.due(at(2026, 3, 2, 9), 1, [Pause(at(2026, 3, 3, 9), at(2026, 3, 2, 9))])
    with pytest.raises(InvalidPause, match="overlaps pause"):
        cal.due(
            at(2026, 3, 2, 9),
            1,
            [
                Pause(at(2026, 3, 2, 10), at(2026, 3, 2, 12)),
                Pause(at(2026, 3, 2, 11), at(2026, 3, 2, 14)),
            ],
        )
    with pytest.raises(CalendarError, match="before the calendar's first year"):
        cal.due(at(1999, 3, 2, 9), 1)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_file_with_a_malformed_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "overrides:\n  - {date: 2026-02-30, kind: day_off, reason: x}\n")
    with pytest.raises(DefinitionError) as caught:
        load_calendar(path)
    problem = caught.value.problems[0]
    assert problem.file == str(path) and problem.field == "overrides[0].date"
    assert "date" in problem.reason


def test_override_file_with_an_unknown_kind(tmp_path: Path) -> None:
    path = _write(tmp_path, "overrides:\n  - {date: 2026-02-10, kind: half_day}\n")
    with pytest.raises(DefinitionError) as caught:
        load_calendar(path)
    problem = caught.value.problems[0]
    assert problem.field == "overrides[0].kind"
    assert "'day_off' or 'working_day'" in problem.reason


def test_override_file_other_problems(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timezone: Mars/Olympus\n"
        "overrides:\n"
        "  - {date: 2026-02-10, kind: day_off}\n"
        "  - {date: 2026-02-10, kind: working_day}\n",
    )
    with pytest.raises(DefinitionError) as caught:
        load_calendar(path)
    fields = {p.field: p.reason for p in caught.value.problems}
    assert "already given in overrides[0]" in fields["overrides[1].date"]
    assert "unknown time zone 'Mars/Olympus'" in fields["timezone"]
    with pytest.raises(DefinitionError, match="malformed YAML"):
        load_calendar(_write(tmp_path, "overrides: [\n"))
    with pytest.raises(DefinitionError, match="working_hours"):
        load_calendar(_write(tmp_path, "working_hours: [['13:00', '12:00']]\n"))
