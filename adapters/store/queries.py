"""SLA queries over open dossiers: overdue, due soon, and the load of each agency.

Only dossiers whose clock runs count as overdue or due soon: open (not closed) and waiting for
neither a supplement nor a fee (statuses 5 and 6 stop the clock). Every query reads a partial
index of ``dossiers``:

- ``ix_dossiers_running_due`` (due_at) and ``ix_dossiers_running_agency_due`` (agency, due_at),
  WHERE :data:`~adapters.store.tables.RUNNING_DUE_WHERE` (running, with a due instant): pages in
  due order and counts of a due window are index range scans that never read the table for
  counting;
- ``ix_dossiers_open_agency`` (agency) WHERE NOT closed: the agencies with open dossiers (one
  index seek per agency) and their open counts.

The predicates are written exactly as the indexes spell them (as SQL text, not as bound
parameters): SQLite uses a partial index only when the query repeats its terms, and PostgreSQL
cannot prove a partial index's predicate from the parameters of a generic plan. The one term
they leave out, ``due_at IS NOT NULL``, both prove from the window's comparison on ``due_at``.

A page and its total are two statements; on PostgreSQL under READ COMMITTED they may see
different snapshots (pass a connection inside a REPEATABLE READ transaction to avoid it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ClauseElement,
    ColumnElement,
    Connection,
    Executable,
    Row,
    ScalarSelect,
    Select,
    TextClause,
    func,
    null,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.store import SqlStore
from workflow.calendar import require_aware
from workflow.definition import NationalStatus

OPEN: TextClause = text("NOT closed")
"""Not closed: the predicate of the ``ix_dossiers_open_*`` indexes, spelled the same."""

RUNNING: TextClause = text(t.RUNNING_WHERE)
"""Open with a running clock: the predicate of the ``ix_dossiers_running_*`` indexes."""

Condition = ColumnElement[bool] | TextClause
"""One term of a WHERE clause."""

Source = Connection | SqlStore
"""Where to read: a connection (the caller's transaction) or a store (a connection of its own)."""

_d = t.dossiers.c


@dataclass(frozen=True, slots=True)
class DueDossier:
    """An open dossier with a running clock, and when it is (or was) due."""

    code: str
    procedure_code: str
    agency: str
    step: str | None
    status: NationalStatus
    due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DuePage:
    """The first dossiers of a due window, earliest due first (then by code), and how many the
    window holds."""

    rows: tuple[DueDossier, ...]
    total: int


@dataclass(frozen=True, slots=True)
class AgencyLoad:
    """One agency's open dossiers: all of them, the overdue and the due-soon ones."""

    agency: str
    open: int | None  # None unless asked for: counting every open dossier grows with them
    overdue: int
    due_soon: int


def window(
    since: dt.datetime | None, until: dt.datetime, agency: str | None = None
) -> list[Condition]:
    """Conditions for running dossiers due in ``[since, until)`` (``since=None``: unbounded)."""
    where: list[Condition] = [RUNNING, _d.due_at < require_aware(until, "until")]
    if since is not None:
        where.append(_d.due_at >= require_aware(since, "since"))
    if agency is not None:
        where.append(_d.agency == agency)
    return where


def page_query(where: list[Condition], limit: int) -> Select[Any]:
    """The first ``limit`` dossiers matching ``where``, earliest due first, then by code (due
    instants often tie: many fall at the end of a working period)."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    columns = (_d.code, _d.procedure_code, _d.agency, _d.step, _d.status, _d.due_at)
    return select(*columns).where(*where).order_by(_d.due_at, _d.code).limit(limit)


def count_query(where: list[Condition]) -> Select[int]:
    """How many dossiers match ``where``."""
    return select(func.count()).select_from(t.dossiers).where(*where)


def open_agencies() -> CTE:
    """The agencies with open dossiers, one index seek each, then a NULL row: a loose index
    scan, which PostgreSQL does not do for ``SELECT DISTINCT`` (it reads every entry)."""
    first = select(func.min(_d.agency).label("agency")).where(OPEN)
    agencies = first.cte("open_agencies", recursive=True)
    following = select(func.min(_d.agency)).where(OPEN, _d.agency > agencies.c.agency)
    step = select(following.scalar_subquery()).where(agencies.c.agency.is_not(None))
    return agencies.union_all(step)


def per_agency_query(
    now: dt.datetime, until: dt.datetime, *, with_open: bool = False
) -> Select[str, int, int, int]:
    """Per agency with open dossiers: overdue and due-soon counts (and, if asked, open ones)."""
    agencies = open_agencies()

    def count(where: list[Condition]) -> ScalarSelect[int]:
        return count_query([*where, _d.agency == agencies.c.agency]).scalar_subquery()

    return (
        select(
            agencies.c.agency,
            (count([OPEN]) if with_open else null()).label("open"),
            count(window(None, now)).label("overdue"),
            count(window(now, until)).label("due_soon"),
        )
        .where(agencies.c.agency.is_not(None))
        .order_by(agencies.c.agency)
    )


@contextlib.contextmanager
def _connection(source: Source) -> Iterator[Connection]:
    if isinstance(source, SqlStore):
        with translated(source.url), read_connection(source.engine) as connection:
            yield connection
    else:
        with translated(str(source.engine.url)):
            yield source


def _page(source: Source, where: list[Condition], limit: int) -> DuePage:
    page = page_query(where, limit)
    with _connection(source) as connection:
        rows = connection.execute(page).all()
        total = connection.execute(count_query(where)).scalar_one()
    return DuePage(tuple(_due_dossier(row) for row in rows), int(total))


def _due_dossier(row: Row[Any]) -> DueDossier:
    status = NationalStatus(row.status)
    return DueDossier(row.code, row.procedure_code, row.agency, row.step, status, row.due_at)


def overdue(
    source: Source, now: dt.datetime, agency: str | None = None, limit: int = 100
) -> DuePage:
    """Open dossiers with a running clock that were due before ``now`` (of one ``agency``, or
    of all): the first ``limit``, earliest due first, and how many there are."""
    return _page(source, window(None, now, agency), limit)


def due_soon(
    source: Source,
    now: dt.datetime,
    until: dt.datetime,
    agency: str | None = None,
    limit: int = 100,
) -> DuePage:
    """Open dossiers with a running clock due in ``[now, until)``: the first ``limit``, earliest
    due first, and how many there are. ``until`` is usually two working days ahead:
    ``calendar.add(now, timedelta(hours=16))``."""
    return _page(source, window(now, until, agency), limit)


def per_agency(
    source: Source, now: dt.datetime, until: dt.datetime, *, with_open: bool = False
) -> tuple[AgencyLoad, ...]:
    """For every agency with open dossiers, by agency code: how many are overdue at ``now`` and
    due in ``[now, until)`` (running clocks only, as :func:`overdue` and :func:`due_soon` count
    them), and with ``with_open`` how many are open at all (paused ones included).

    The overdue and due-soon counts are index range scans per agency, as small as their answers.
    The open counts read one index entry per open dossier: they grow with the open dossiers, so
    the SLA board leaves them out."""
    with _connection(source) as connection:
        rows = connection.execute(per_agency_query(now, until, with_open=with_open)).all()
    return tuple(
        AgencyLoad(
            r.agency, None if r.open is None else int(r.open), int(r.overdue), int(r.due_soon)
        )
        for r in rows
    )


class Explain(Executable, ClauseElement):
    """The plan of a statement: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@compiles(Explain)
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def plan(connection: Connection, statement: ClauseElement) -> list[str]:
    """The lines of the statement's plan (SQLite: the detail column), to see which indexes a
    query reads, e.g. ``plan(connection, page_query(window(None, now), 100))``."""
    return [str(row[-1]) for row in connection.execute(Explain(statement))]
