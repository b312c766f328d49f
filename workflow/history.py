"""History as columns: what the metrics and the scorecard count, whatever it came from.

The engine's own control sheets and an imported event log (a municipality's permit log, say) are
both turned into the same column tables, so one vectorised computation serves both:

- :class:`CaseTable`: one row per dossier (case): procedure and version, channel, when it was
  received, when its clock started, when it finished and was due, the working time it waited for
  the applicant, its verdict;
- :class:`SegmentTable`: one row per stretch of a case's life spent at one step of one agency
  (between two rows of its control sheet, or between two events of a log);
- :class:`History`: both, with the inter-agency hand-overs and the applicants' ratings.

Instants are ``int64`` microseconds since the Unix epoch (UTC); :data:`NAT` marks a missing one.
Text columns are :class:`Labels` (integer codes into a tuple of names), so grouping is integer
arithmetic. :class:`EventLog` is an imported log in the same form; :func:`history_from_log`
derives its cases and segments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from workflow.errors import InvalidLog

NAT = np.iinfo(np.int64).min
"""The missing instant."""

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class VerdictCode(IntEnum):
    """A case's verdict as a small integer (0: none yet)."""

    NONE = 0
    EARLY = 1
    ON_TIME = 2
    LATE = 3


def to_us(instant: dt.datetime | None) -> int:
    """Microseconds since the epoch of an aware instant; :data:`NAT` for ``None``."""
    if instant is None:
        return int(NAT)
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidLog(f"instant {instant.isoformat()} has no timezone")
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime | None:
    """The aware UTC instant of a microsecond count; ``None`` for :data:`NAT`."""
    if us == NAT:
        return None
    return _EPOCH + dt.timedelta(microseconds=int(us))


@dataclass(frozen=True, slots=True)
class Labels:
    """A text column as integer codes into ``names`` (-1: none)."""

    codes: I32
    names: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[str | None]) -> Labels:
        """Encode ``values``; ``None`` becomes -1. Names are sorted."""
        names = sorted({v for v in values if v is not None})
        index = {name: i for i, name in enumerate(names)}
        codes = np.fromiter(
            (index[v] if v is not None else -1 for v in values), dtype=np.int32, count=len(values)
        )
        return cls(codes, tuple(names))

    @classmethod
    def empty(cls) -> Labels:
        return cls(np.empty(0, dtype=np.int32), ())

    def take(self, rows: npt.NDArray[np.intp] | Bools) -> Labels:
        """The column restricted to ``rows`` (the names are kept)."""
        return Labels(self.codes[rows], self.names)

    def __len__(self) -> int:
        return len(self.codes)

    def name(self, row: int) -> str | None:
        code = int(self.codes[row])
        return self.names[code] if code >= 0 else None


@dataclass(frozen=True, slots=True)
class CaseTable:
    """One row per case. ``paused``: working µs spent waiting for the applicant after the clock
    started; ``closed_at``: when a final status was reached (finished cases: their return or
    the finish itself for logs); ``status``: the national status now."""

    case_id: tuple[str, ...]
    procedure: Labels
    version: Labels
    channel: Labels
    received: I64
    started: I64
    finished: I64
    due: I64
    closed_at: I64
    paused: I64
    supplements: I32
    electronic_result: Bools
    status: I32
    verdict: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.case_id)


@dataclass(frozen=True, slots=True)
class SegmentTable:
    """One row per stretch of a case at one step of one agency, ``start`` to ``end`` (``end``
    :data:`NAT` while it goes on). ``waiting``: the case waited for the applicant (a supplement
    or a fee) during this stretch, so its time is not the agency's."""

    case: I64
    step: Labels
    agency: Labels
    start: I64
    end: I64
    waiting: Bools

    def __len__(self) -> int:
        return len(self.case)


@dataclass(frozen=True, slots=True)
class History:
    """Cases and segments, plus hand-overs between agencies (``handover_at``; electronic where
    ``handover_electronic``) and applicants' ratings (``rating_at``; satisfied where
    ``rating_satisfied``). ``source`` names where it came from, for reports."""

    source: str
    cases: CaseTable
    segments: SegmentTable
    handover_at: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    handover_electronic: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    rating_at: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    rating_satisfied: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    has_handovers: bool = False
    has_ratings: bool = False


@dataclass(frozen=True, slots=True)
class EventLog:
    """An imported event log, one row per event, sorted by case then instant.

    ``case`` indexes ``case_id``; ``channel`` and ``deadline`` are per case (``deadline``
    :data:`NAT` where absent). ``resource`` is who did it, ``group`` the unit (the agency, in
    our terms) where the log has one."""

    name: str
    case_id: tuple[str, ...]
    case: I64
    activity: Labels
    at: I64
    resource: Labels
    group: Labels
    channel: Labels
    deadline: I64

    def __len__(self) -> int:
        return len(self.case)

    @property
    def case_count(self) -> int:
        return len(self.case_id)

    @classmethod
    def build(
        cls,
        name: str,
        case_ids: Sequence[str],
        activities: Sequence[str],
        instants: Sequence[int],
        resources: Sequence[str | None],
        groups: Sequence[str | None],
        case_channels: dict[str, str | None],
        case_deadlines: dict[str, int],
    ) -> EventLog:
        """A log from row-wise columns (any order); events of a case sort by instant, ties
        keeping their order in the file."""
        if not case_ids:
            raise InvalidLog("the log has no events")
        cases = Labels.of(case_ids)
        at = np.asarray(instants, dtype=np.int64)
        order = np.lexsort((np.arange(len(at)), at, cases.codes))
        names = cases.names
        return cls(
            name=name,
            case_id=names,
            case=cases.codes[order].astype(np.int64),
            activity=Labels.of(activities).take(order),
            at=at[order],
            resource=Labels.of(resources).take(order),
            group=Labels.of(groups).take(order),
            channel=Labels.of([case_channels.get(c) for c in names]),
            deadline=np.fromiter(
                (case_deadlines.get(c, int(NAT)) for c in names), dtype=np.int64, count=len(names)
            ),
        )


def case_bounds(case: I64, count: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """First and last row of each case in rows sorted by case (every case has a row)."""
    first = np.searchsorted(case, np.arange(count), side="left")
    last = np.searchsorted(case, np.arange(count), side="right") - 1
    return first, last


def history_from_log(
    log: EventLog, procedure: str | None = None, utc_offset: dt.timedelta = dt.timedelta(hours=7)
) -> History:
    """The cases and segments of an imported log.

    A case is received, started and finished at its first and last events, and due at its
    deadline; every case counts as finished (a log holds what happened). A case finished on its
    deadline's day (at ``utc_offset``) but not after it is on time, before that day early.

    Each event after a case's first closes a segment that began at the previous event and is
    labelled with the event's activity and group (its resource where the log has no groups):
    with completion timestamps only, the time before an event is the time its activity took.
    """
    count = log.case_count
    first, last = case_bounds(log.case, count)
    start = log.at[first]
    end = log.at[last]
    due = log.deadline
    verdict = np.zeros(count, dtype=np.int8)
    has_due = due != NAT
    day = 86_400_000_000
    shift = int(utc_offset.total_seconds()) * 1_000_000
    late = has_due & (end > due)
    same_day = has_due & ~late & ((end + shift) // day == (due + shift) // day)
    verdict[has_due & ~late & ~same_day] = VerdictCode.EARLY
    verdict[same_day] = VerdictCode.ON_TIME
    verdict[late] = VerdictCode.LATE
    label = procedure or log.name
    cases = CaseTable(
        case_id=log.case_id,
        procedure=Labels(np.zeros(count, dtype=np.int32), (label,)),
        version=Labels(np.zeros(count, dtype=np.int32), ("log",)),
        channel=log.channel,
        received=start,
        started=start,
        finished=end,
        due=due,
        closed_at=end,
        paused=np.zeros(count, dtype=np.int64),
        supplements=np.zeros(count, dtype=np.int32),
        electronic_result=np.zeros(count, dtype=np.bool_),
        status=np.full(count, 10, dtype=np.int32),
        verdict=verdict,
    )
    follows = np.ones(len(log), dtype=np.bool_)
    follows[first] = False  # a case's first event closes no segment
    rows = np.flatnonzero(follows)
    agency = log.group if bool((log.group.codes >= 0).any()) else log.resource
    segments = SegmentTable(
        case=log.case[rows],
        step=log.activity.take(rows),
        agency=agency.take(rows),
        start=log.at[rows - 1],
        end=log.at[rows],
        waiting=np.zeros(len(rows), dtype=np.bool_),
    )
    return History(source=f"log {log.name}", cases=cases, segments=segments)
