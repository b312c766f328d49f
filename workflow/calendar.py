"""The working-day calendar: which instants are working time, and how to count it.

Days off are Saturdays, Sundays, the Vietnamese public holidays of the ``holidays`` package
(Tết from the lunar calendar, and the days off it knows were swapped for worked Saturdays), and a
deployment's own per-year :class:`Override` entries (extra days off, make-up working days).
Working hours default to 08:00-12:00 and 13:00-17:00 in Asia/Ho_Chi_Minh.

Working time is counted on a *working-time line*: :meth:`WorkingCalendar.to_work` maps an instant
to the microseconds of working time elapsed since the calendar's epoch, a step function that is
flat outside working hours. Every count (due instants, elapsed working time, pauses) is
arithmetic on that line, with per-day prefix sums and a binary search; nothing walks day by day.

The due rule, pinned:

- a limit of N working days (N a multiple of 0.5) ends when N x (length of a working day)
  working time has elapsed since the clock started; a clock started outside working time starts
  at the next working instant;
- a count that completes at the end of a working period ends there (17:00, not 08:00 the next
  working day; 12:00, not 13:00);
- a same-day limit (N = 0) ends at the end of the working day on which the clock starts; a
  dossier received at or after the cut-off (default 15:00) is due at the end of the next
  working day;
- each pause (supplement or fee awaited) moves the due instant by exactly the working time it
  covers after the clock started.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from workflow.errors import CalendarError, InvalidLimit, InvalidPause, NaiveDatetime

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_HOURS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(8, 0), dt.time(12, 0)),
    (dt.time(13, 0), dt.time(17, 0)),
)
DEFAULT_CUTOFF = dt.time(15, 0)
_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 60 * _US_PER_MINUTE
_FIRST_YEAR, _LAST_YEAR = 2000, 2100
_US_PER_DAY = 86_400_000_000
_UNIX_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def require_aware(instant: dt.datetime, what: str = "instant") -> dt.datetime:
    """``instant`` itself, or :class:`NaiveDatetime` if it has no timezone."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise NaiveDatetime(
            f"{what} {instant.isoformat()} has no timezone; give an aware instant such as "
            f"{instant.isoformat()}+07:00"
        )
    return instant


class OverrideKind(StrEnum):
    """What an override makes of its day."""

    DAY_OFF = "day_off"
    WORKING_DAY = "working_day"


@dataclass(frozen=True, slots=True)
class Override:
    """A deployment's exception for one day: an extra day off, or a make-up working day."""

    day: dt.date
    kind: OverrideKind
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DayInfo:
    """Why a day is off, or why a weekend day is worked; ``source`` is package or override."""

    day: dt.date
    kind: OverrideKind
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch of time in which the clock stands still (a supplement or a fee awaited)."""

    start: dt.datetime
    end: dt.datetime


def check_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """The pauses sorted by start; :class:`InvalidPause` if one is reversed or two overlap."""
    ordered = sorted(pauses, key=lambda p: p.start)
    for pause in ordered:
        require_aware(pause.start, "pause start")
        require_aware(pause.end, "pause end")
        if pause.end < pause.start:
            raise InvalidPause(
                f"pause {pause.start.isoformat()}/{pause.end.isoformat()} ends before it starts"
            )
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise InvalidPause(
                f"pause {after.start.isoformat()}/{after.end.isoformat()} overlaps pause "
                f"{before.start.isoformat()}/{before.end.isoformat()}"
            )
    return ordered


def check_limit(days: float) -> float:
    """``days`` itself, or :class:`InvalidLimit` if negative or not a multiple of 0.5."""
    if days < 0 or not float(days * 2).is_integer():
        raise InvalidLimit(
            f"limit {days:g} working days is invalid: give a whole or half number of days, "
            "0 or more (0 means same day)"
        )
    return days


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


class WorkingCalendar:
    """Working days and hours of one deployment, with fast working-time arithmetic."""

    def __init__(
        self,
        overrides: Iterable[Override] = (),
        hours: Sequence[tuple[dt.time, dt.time]] = DEFAULT_HOURS,
        tz: ZoneInfo = VIETNAM,
        cutoff: dt.time = DEFAULT_CUTOFF,
    ) -> None:
        periods = [(_minutes(a) * _US_PER_MINUTE, _minutes(b) * _US_PER_MINUTE) for a, b in hours]
        if (
            not periods
            or any(a >= b for a, b in periods)
            or any(p[1] > q[0] for p, q in itertools.pairwise(periods))
        ):
            raise CalendarError(
                "working hours must be one or more increasing, non-overlapping periods "
                "within a day, such as 08:00-12:00 and 13:00-17:00"
            )
        self.tz = tz
        self.cutoff = cutoff
        self.working_hours = tuple(hours)
        self._periods = tuple(periods)
        self.day_length = sum(b - a for a, b in periods)  # microseconds
        self._overrides: Mapping[dt.date, Override] = {o.day: o for o in overrides}
        self._base = dt.date(_FIRST_YEAR, 1, 1).toordinal()
        self._cum: list[int] = [0]
        self._working: list[bool] = []
        self._last_year = _FIRST_YEAR - 1
        self._instants: dict[tuple[int, int], dt.datetime] = {}
        # the day tables as arrays, with the list they were made from (see _day_arrays)
        self._arrays: tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None
        self._arrays = None

    def in_zone(self, tz: ZoneInfo) -> WorkingCalendar:
        """The same days off, hours and cut-off, read in another time zone (for an imported
        log of another country, whose office hours are its own local time)."""
        return WorkingCalendar(self._overrides.values(), self.working_hours, tz, self.cutoff)

    # --- days -----------------------------------------------------------------------------

    def _package(self, years: Iterable[int]) -> holidays.HolidayBase:
        return holidays.country_holidays("VN", years=list(years))

    def is_working_day(self, day: dt.date) -> bool:
        """True when ``day`` is a working day (overrides first, then holidays, weekends)."""
        self._ensure(day.year)
        return self._working[day.toordinal() - self._base]

    def _classify(self, day: dt.date, package: holidays.HolidayBase) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.kind is OverrideKind.WORKING_DAY
        if day in package:
            return False
        if day in package.weekend_workdays:
            return True
        return day.weekday() < 5

    def days(self, year: int) -> list[DayInfo]:
        """Days off on weekdays and worked weekend days of ``year``, with their source."""
        package = self._package([year])
        found: dict[dt.date, DayInfo] = {}
        for day, name in sorted(package.items()):
            found[day] = DayInfo(day, OverrideKind.DAY_OFF, name, "package")
        for day in sorted(package.weekend_workdays):
            if day.year == year:
                found[day] = DayInfo(
                    day, OverrideKind.WORKING_DAY, "make-up working day", "package"
                )
        for day, override in self._overrides.items():
            if day.year != year:
                continue
            known = found.get(day)
            source = "package, override" if known and known.kind is override.kind else "override"
            found[day] = DayInfo(day, override.kind, override.reason or override.kind.value, source)
        return [found[d] for d in sorted(found)]

    def _ensure(self, year: int) -> None:
        """Extend the day tables forward to cover ``year`` (the epoch never moves)."""
        if year <= self._last_year:
            if year < _FIRST_YEAR:
                raise CalendarError(
                    f"year {year} is before the calendar's first year {_FIRST_YEAR}"
                )
            return
        if year > _LAST_YEAR:
            raise CalendarError(f"year {year} is after the calendar's last year {_LAST_YEAR}")
        first_year = self._last_year + 1
        last_year = min(year + 2, _LAST_YEAR)
        package = self._package(range(first_year, last_year + 1))
        working = list(self._working)
        cum = list(self._cum)
        start = dt.date(first_year, 1, 1).toordinal()
        for ordinal in range(start, dt.date(last_year, 12, 31).toordinal() + 1):
            works = self._classify(dt.date.fromordinal(ordinal), package)
            working.append(works)
            cum.append(cum[-1] + (self.day_length if works else 0))
        # publish the longer tables; earlier entries are unchanged, so counts stay valid
        self._working, self._cum = working, cum
        self._last_year = last_year

    # --- the working-time line ------------------------------------------------------------

    def _local(self, instant: dt.datetime) -> dt.datetime:
        if instant.tzinfo is self.tz:  # already local: the common case, skip the conversion
            return instant
        return require_aware(instant).astimezone(self.tz)

    def to_work(self, instant: dt.datetime) -> int:
        """Working time (µs) elapsed from the calendar's epoch to ``instant``."""
        local = self._local(instant)
        self._ensure(local.year)
        return self._work_at(local)

    def _work_at(self, local: dt.datetime) -> int:
        index = local.toordinal() - self._base
        total = self._cum[index]
        if not self._working[index]:
            return total
        clock = _clock(local)
        for start, end in self._periods:
            if clock <= start:
                break
            total += (clock if clock < end else end) - start
        return total

    def to_work_array(self, utc_us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """:meth:`to_work` of many instants at once, given as µs since the Unix epoch (UTC).

        Vectorised: the day tables and working periods are applied with array arithmetic, so a
        million instants take milliseconds. The zone must keep one UTC offset over the instants'
        years (Vietnam has since 1975); otherwise each instant is converted on its own.
        """
        if len(utc_us) == 0:
            return np.empty(0, dtype=np.int64)
        low, high = int(utc_us.min()), int(utc_us.max())
        first = _EPOCH + dt.timedelta(microseconds=low)
        last = _EPOCH + dt.timedelta(microseconds=high)
        self._ensure(max(first.year, _FIRST_YEAR))
        self._ensure(last.astimezone(self.tz).year)
        offset = self._fixed_offset(first.year, last.year)
        if offset is None:
            return np.fromiter(
                (self.to_work(_EPOCH + dt.timedelta(microseconds=int(u))) for u in utc_us),
                dtype=np.int64,
                count=len(utc_us),
            )
        # shifted so that the whole days are the indexes into the day tables directly
        shift = offset + (_UNIX_ORDINAL - self._base) * _US_PER_DAY
        if low + shift < 0:
            raise CalendarError(f"an instant is before the calendar's first year {_FIRST_YEAR}")
        cum, working = self._day_arrays()
        index, clock = np.divmod(utc_us + shift, _US_PER_DAY)
        inside = np.zeros(len(clock), dtype=np.int64)
        part = np.empty_like(inside)
        for start, end in self._periods:  # in place: no new array per step
            np.subtract(clock, start, out=part)
            np.clip(part, 0, end - start, out=part)
            inside += part
        inside *= working[index]
        inside += cum[index]
        return inside

    def _day_arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """The day tables as arrays, converted once per extension of the tables."""
        arrays = self._arrays
        if arrays is None or arrays[0] is not self._cum:
            arrays = (
                self._cum,
                np.asarray(self._cum, dtype=np.int64),
                np.asarray(self._working, dtype=np.bool_),
            )
            self._arrays = arrays
        return arrays[1], arrays[2]

    def _fixed_offset(self, first_year: int, last_year: int) -> int | None:
        """The zone's one UTC offset (µs) over these years, or ``None`` if it changes."""
        offsets = {
            dt.datetime(year, month, 1, 12, tzinfo=self.tz).utcoffset()
            for year in range(first_year, last_year + 1)
            for month in (1, 4, 7, 10)
        }
        if len(offsets) != 1:
            return None
        only = offsets.pop()
        return None if only is None else _us(only)

    def from_work(self, work: int) -> dt.datetime:
        """The earliest instant at which ``work`` µs of working time have elapsed."""
        while work > self._cum[-1]:
            self._ensure(self._last_year + 1)
        index = bisect.bisect_left(self._cum, work)
        if self._cum[index] == work:
            if index == 0:
                return self._at(0, self._periods[0][0])
            return self._at(index - 1, self._periods[-1][1])  # end of the day that completed it
        day = index - 1
        rest = work - self._cum[day]
        for start, end in self._periods:
            if rest <= end - start:
                return self._at(day, start + rest)
            rest -= end - start
        raise AssertionError("unreachable: a working day holds day_length of work")

    def _at(self, index: int, clock: int) -> dt.datetime:
        key = (index, clock)
        found = self._instants.get(key)
        if found is None:
            if len(self._instants) > 200_000:  # due instants repeat; bound the memo anyway
                self._instants.clear()
            day = dt.date.fromordinal(self._base + index)
            seconds, micro = divmod(clock, 1_000_000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            found = dt.datetime(
                day.year, day.month, day.day, hour, minute, second, micro, tzinfo=self.tz
            )
            self._instants[key] = found
        return found

    # --- counting -------------------------------------------------------------------------

    def next_working_instant(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` if it is working time, else the start of the next working period."""
        local = self._local(instant)
        return local if self._in_period(local) else self._next_start(local)

    def _in_period(self, local: dt.datetime) -> bool:
        if not self.is_working_day(local.date()):
            return False
        clock = _clock(local)
        return any(start <= clock < end for start, end in self._periods)

    def _next_start(self, local: dt.datetime) -> dt.datetime:
        self._ensure(local.year)
        index = local.toordinal() - self._base
        clock = _clock(local)
        if self._working[index]:
            for start, _ in self._periods:
                if clock < start:
                    return self._at(index, start)
        return self._at(self._next_working_index(index), self._periods[0][0])

    def working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time between two instants (negative if ``end`` is before ``start``)."""
        return dt.timedelta(microseconds=self.to_work(end) - self.to_work(start))

    def add(self, start: dt.datetime, working: dt.timedelta) -> dt.datetime:
        """The instant at which ``working`` time has elapsed after ``start``."""
        return self.from_work(self.to_work(start) + _us(working))

    def end_of_day(self, instant: dt.datetime) -> dt.datetime:
        """End of the last working period of ``instant``'s day (a working day)."""
        local = self._local(instant)
        return self._at(local.toordinal() - self._base, self._periods[-1][1])

    def clock_start(
        self, received: dt.datetime, *, same_day: bool = False, cutoff: dt.time | None = None
    ) -> dt.datetime:
        """When the clock starts for something received at ``received``.

        The next working instant; for a same-day limit, a receipt at or after the cut-off
        starts at the next working day.
        """
        start = self.next_working_instant(received)
        if same_day:
            local = self._local(received)
            limit = cutoff or self.cutoff
            if start.date() == local.date() and local.time() >= limit:
                start = self._next_start(self.end_of_day(start))
        return start

    def paused(self, start: dt.datetime, pauses: Iterable[Pause]) -> dt.timedelta:
        """Working time covered by ``pauses`` after ``start`` (the pauses are checked)."""
        return dt.timedelta(microseconds=self._paused(self.to_work(start), pauses))

    def _paused(self, origin: int, pauses: Iterable[Pause]) -> int:
        total = 0
        for pause in check_pauses(pauses):
            total += max(0, self.to_work(pause.end) - max(self.to_work(pause.start), origin))
        return total

    def due(
        self,
        received: dt.datetime,
        days: float,
        pauses: Sequence[Pause] = (),
        *,
        cutoff: dt.time | None = None,
    ) -> dt.datetime:
        """The due instant of a limit of ``days`` working days received at ``received``.

        See the module docstring for the rule. ``pauses`` are checked (:class:`InvalidPause`).
        """
        check_limit(days)
        local = self._local(received)
        self._ensure(local.year)
        if days:
            # outside working time the count is flat, so the count at receipt is the count at
            # the next working instant: the clock start
            origin = self._work_at(local)
            base = origin + round(days * self.day_length)
        else:
            index = local.toordinal() - self._base
            limit = cutoff or self.cutoff
            if not (
                self._working[index]
                and _clock(local) < self._periods[-1][1]
                and local.time() < limit
            ):
                index = self._next_working_index(index)
            origin = max(self._work_at(local), self._cum[index])
            base = self._cum[index + 1]  # the end of that working day
        if pauses:
            base += self._paused(origin, pauses)
        return self.from_work(base)

    def _next_working_index(self, index: int) -> int:
        index += 1
        while True:
            if index >= len(self._working):
                self._ensure(self._last_year + 1)
            if self._working[index]:
                return index
            index += 1


def _us(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _clock(local: dt.datetime) -> int:
    """Microseconds since local midnight."""
    return ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
