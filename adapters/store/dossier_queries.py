"""Read-only queries for the back-office API: filtered pages of dossiers, and the public lookup.

A page is ordered by receipt instant then code (stable under paging); its total counts every
match. The public lookup answers only when the dossier code and the applicant's reference both
match, and returns no personal data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, exc, func, select

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from workflow.calendar import require_aware
from workflow.definition import NationalStatus
from workflow.errors import InvalidDossier

_D = t.dossiers.c
_SUMMARY = (
    _D.code,
    _D.procedure_code,
    _D.procedure_version,
    _D.channel,
    _D.state,
    _D.status,
    _D.closed,
    _D.agency,
    _D.step,
    _D.received_at,
    _D.due_at,
    _D.version,
)


@dataclass(frozen=True, slots=True)
class DossierSummary:
    """One line of a list of dossiers."""

    code: str
    procedure_code: str
    procedure_version: str
    channel: str
    state: str
    status: NationalStatus
    closed: bool
    agency: str
    step: str | None
    received_at: dt.datetime
    due_at: dt.datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list of dossiers is narrowed to (``None``: any)."""

    agency: str | None = None
    status: NationalStatus | None = None
    procedure: str | None = None
    due_before: dt.datetime | None = None


def _where(filters: Filters) -> list[Any]:
    where: list[Any] = []
    if filters.agency is not None:
        where.append(_D.agency == filters.agency)
    if filters.status is not None:
        where.append(_D.status == int(filters.status))
    if filters.procedure is not None:
        where.append(_D.procedure_code == filters.procedure)
    if filters.due_before is not None:
        where.append(_D.due_at < require_aware(filters.due_before, "due_before"))
    return where


def _summary(row: Any) -> DossierSummary:
    values = list(row)
    values[5] = NationalStatus(values[5])
    return DossierSummary(*values)


def list_dossiers(
    engine: Engine, filters: Filters, *, page: int = 1, size: int = 50
) -> tuple[list[DossierSummary], int]:
    """Page ``page`` (from 1) of ``size`` dossiers matching ``filters``, and the total."""
    where = _where(filters)
    query = (
        select(*_SUMMARY)
        .where(*where)
        .order_by(_D.received_at, _D.code)
        .limit(size)
        .offset((page - 1) * size)
    )
    with translated(str(engine.url)), read_connection(engine) as connection:
        rows = connection.execute(query).all()
        total = connection.execute(select(func.count()).select_from(t.dossiers).where(*where))
        return [_summary(row) for row in rows], int(total.scalar_one())


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What anyone holding the code and the applicant's reference may know (tra cứu hồ sơ)."""

    code: str
    procedure_code: str
    status: NationalStatus
    due_at: dt.datetime | None
    closed: bool


def lookup(engine: Engine, code: str, applicant_ref: str) -> PublicStatus | None:
    """The dossier's public status if the code and the applicant's reference match."""
    query = select(_D.code, _D.procedure_code, _D.status, _D.due_at, _D.closed).where(
        _D.code == code, _D.applicant_ref == applicant_ref
    )
    with translated(str(engine.url)), read_connection(engine) as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return PublicStatus(
        row.code, row.procedure_code, NationalStatus(row.status), row.due_at, row.closed
    )


RATING_LEVELS = ("very_satisfied", "satisfied", "dissatisfied")
"""How an applicant rates a returned dossier (rất hài lòng, hài lòng, không hài lòng)."""


def record_rating(
    engine: Engine,
    code: str,
    applicant_ref: str,
    level: str,
    at: dt.datetime,
    comment: str | None = None,
) -> bool:
    """Record the applicant's rating of a dossier whose result was returned; one per dossier.

    ``False`` if the code and the reference do not match a dossier. :class:`InvalidDossier` if
    the result has not been returned yet, the level is unknown or the dossier is already rated.
    """
    if level not in RATING_LEVELS:
        known = ", ".join(RATING_LEVELS)
        raise InvalidDossier(f"rating '{level}' is not known; give one of {known}")
    found = lookup(engine, code, applicant_ref)
    if found is None:
        return False
    if found.status is not NationalStatus.RESULT_RETURNED:
        raise InvalidDossier(
            f"dossier {code} cannot be rated yet: its result has not been returned "
            f"(status {int(found.status)}); rate it after the result is handed over"
        )
    row = {"dossier_code": code, "rated_at": require_aware(at), "level": level, "comment": comment}
    with translated(str(engine.url)), engine.begin() as connection:
        exists = connection.execute(
            select(t.ratings.c.dossier_code).where(t.ratings.c.dossier_code == code)
        ).first()
        if exists is not None:
            raise InvalidDossier(
                f"dossier {code} is already rated; a dossier is rated once"
            ) from None
        try:
            connection.execute(t.ratings.insert(), row)
        except exc.IntegrityError:  # a concurrent rating of the same dossier won
            raise InvalidDossier(
                f"dossier {code} is already rated; a dossier is rated once"
            ) from None
    return True


def last_activity(engine: Engine) -> dt.datetime | None:
    """The instant of the latest control-sheet row in the store (UTC), or ``None`` if it holds
    none."""
    with translated(str(engine.url)), read_connection(engine) as connection:
        found: dt.datetime | None = connection.execute(select(func.max(t.events.c.at))).scalar()
    return found
