"""The engine's own history as columns (:class:`workflow.history.History`), for the metrics.

Read in four queries (dossiers, control-sheet rows, the hand-over messages of the outbox,
ratings), streamed in batches and turned into arrays. Instants are read as microseconds since the
epoch, computed by the database (:func:`epoch_us`): turning a million stored instants into
``datetime`` objects and back was most of the read. Each control-sheet row opens a segment
that the dossier's next row closes; a segment entered with status 5 or 6 is time spent waiting
for the applicant. A hand-over (a row whose two agencies differ) is electronic when the outbox
holds its message (the message id is derived from the dossier code and the row's number) and the
message was not given up as undeliverable.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, cast, extract, func, select

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from workflow.calendar import WorkingCalendar
from workflow.history import NAT, CaseTable, History, Labels, SegmentTable, VerdictCode, to_us
from workflow.messages import Service

_BATCH = 50_000
_SATISFIED = ("satisfied", "very_satisfied")
_VERDICTS = {
    None: VerdictCode.NONE,
    "early": VerdictCode.EARLY,
    "on_time": VerdictCode.ON_TIME,
    "late": VerdictCode.LATE,
}
_D, _E = t.dossiers.c, t.events.c


def epoch_us(dialect: str, column: Any) -> ColumnElement[int]:
    """``column`` (an :class:`~adapters.store.tables.Instant`) as microseconds since the epoch,
    computed in SQL; NULL stays NULL. SQLite stores the UTC instant as text with six digits of
    microseconds (``YYYY-MM-DD HH:MM:SS.ffffff``, SQLAlchemy's format); PostgreSQL's epoch is
    exact (numeric)."""
    if dialect == "sqlite":
        # whole seconds of the text before the fraction: strftime would round the fraction
        seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)
        return seconds * 1_000_000 + cast(func.substr(column, 21, 6), BigInteger)
    return cast(extract("epoch", column) * 1_000_000, BigInteger)


def _us(values: list[Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Microsecond counts (``None`` for a missing instant) as an array, with :data:`NAT`."""
    return np.fromiter((NAT if v is None else v for v in values), np.int64, len(values))


def load_history(
    engine: Engine, url: str, calendar: WorkingCalendar, now: dt.datetime | None = None
) -> History:
    """Everything the metrics and the scorecard count, from the store at ``engine``; a wait
    for the applicant still going on counts up to ``now``."""
    with translated(url), read_connection(engine) as connection:
        cases, index = _cases(connection)
        segments, handovers = _segments(connection, index, len(cases.case_id))
        electronic = _electronic(connection)
        rated = epoch_us(connection.dialect.name, t.ratings.c.rated_at)
        ratings = list(_rows(connection, select(rated, t.ratings.c.level)))
    cases = _with_pauses(cases, segments, calendar, now or dt.datetime.now(dt.UTC))
    handover_ids = [
        uuid.uuid5(uuid.NAMESPACE_URL, f"{code}/{seq}").hex for code, seq, _ in handovers
    ]
    return History(
        source="engine history",
        cases=cases,
        segments=segments,
        handover_at=np.fromiter((at for _, _, at in handovers), np.int64, len(handovers)),
        handover_electronic=np.fromiter(
            (m in electronic for m in handover_ids), np.bool_, len(handovers)
        ),
        rating_at=_us([r[0] for r in ratings]),
        rating_satisfied=np.fromiter((r[1] in _SATISFIED for r in ratings), np.bool_, len(ratings)),
        has_handovers=True,
        has_ratings=True,
    )


def _rows(connection: Connection, statement: Any) -> Iterator[Any]:
    result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(statement)
    yield from result


def _cases(connection: Connection) -> tuple[CaseTable, dict[str, int]]:
    dialect = connection.dialect.name
    rows = list(
        _rows(
            connection,
            select(
                _D.code,
                _D.procedure_code,
                _D.procedure_version,
                _D.channel,
                epoch_us(dialect, _D.received_at),
                epoch_us(dialect, _D.clock_started_at),
                epoch_us(dialect, _D.finished_at),
                epoch_us(dialect, _D.due_at),
                _D.supplement_requests,
                _D.result_electronic,
                _D.status,
                _D.verdict,
            ).order_by(_D.code),
        )
    )
    count = len(rows)

    def instants(column: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        return _us([r[column] for r in rows])

    codes = tuple(r[0] for r in rows)
    table = CaseTable(
        case_id=codes,
        procedure=Labels.of([r[1] for r in rows]),
        version=Labels.of([r[2] for r in rows]),
        channel=Labels.of([r[3] for r in rows]),
        received=instants(4),
        started=instants(5),
        finished=instants(6),
        due=instants(7),
        closed_at=np.full(count, NAT, dtype=np.int64),
        paused=np.zeros(count, dtype=np.int64),
        supplements=np.fromiter((r[8] for r in rows), np.int32, count),
        electronic_result=np.fromiter((bool(r[9]) for r in rows), np.bool_, count),
        status=np.fromiter((r[10] for r in rows), np.int32, count),
        verdict=np.fromiter((_VERDICTS[r[11]] for r in rows), np.int8, count),
    )
    return table, {code: i for i, code in enumerate(codes)}


def _segments(
    connection: Connection, index: dict[str, int], count: int
) -> tuple[SegmentTable, list[tuple[str, int, int]]]:
    at = epoch_us(connection.dialect.name, _E.at)
    statement = select(
        _E.dossier_code, _E.seq, at, _E.status, _E.agency, _E.to_agency, _E.to_step
    ).order_by(_E.dossier_code, _E.seq)
    case: list[int] = []
    start: list[int] = []
    steps: list[str | None] = []
    agencies: list[str] = []
    waiting: list[bool] = []
    handovers: list[tuple[str, int, int]] = []
    for code, seq, instant, status, agency, to_agency, to_step in _rows(connection, statement):
        case.append(index[code])
        start.append(instant)
        steps.append(to_step)
        agencies.append(to_agency)
        waiting.append(status in (5, 6))
        if agency != to_agency:
            handovers.append((code, seq, instant))
    cases = np.asarray(case, dtype=np.int64)
    starts = np.asarray(start, dtype=np.int64)
    ends = np.full(len(starts), NAT, dtype=np.int64)
    same = cases[1:] == cases[:-1]
    ends[:-1][same] = starts[1:][same]
    return (
        SegmentTable(
            case=cases,
            step=Labels.of(steps),
            agency=Labels.of(agencies),
            start=starts,
            end=ends,
            waiting=np.asarray(waiting, dtype=np.bool_),
        ),
        handovers,
    )


def _electronic(connection: Connection) -> set[str]:
    o = t.outbox.c
    statement = select(o.message_id).where(
        o.service.in_((Service.HANDOVER.value, Service.RESULT.value)),
        o.undeliverable_at.is_(None),
    )
    return {row[0] for row in _rows(connection, statement)}


def _with_pauses(
    cases: CaseTable, segments: SegmentTable, calendar: WorkingCalendar, at: dt.datetime
) -> CaseTable:
    """The cases with ``paused`` (working time waited for the applicant between the clock's
    start and the finish, or now for open dossiers) and ``closed_at`` (the last row of a
    closed dossier) filled in from the segments."""
    count = len(cases)
    last = np.full(count, NAT, dtype=np.int64)
    if len(segments):
        np.maximum.at(last, segments.case, segments.start)
    closed = np.isin(cases.status, (3, 7, 8, 10))
    closed_at = np.where(closed, last, NAT)
    rows = np.flatnonzero(segments.waiting)
    case = segments.case[rows]
    started = cases.started[case]
    finished = cases.finished[case]
    now = to_us(at)
    stop = np.where(finished != NAT, finished, now)
    end = np.where(segments.end[rows] != NAT, segments.end[rows], now)
    begin = np.maximum(segments.start[rows], started)
    end = np.minimum(end, stop)
    keep = (started != NAT) & (end > begin)
    paused = np.zeros(count, dtype=np.int64)
    if keep.any():
        work = calendar.to_work_array(end[keep]) - calendar.to_work_array(begin[keep])
        np.add.at(paused, case[keep], work)
    return replace(cases, paused=paused, closed_at=closed_at)
