"""What supervisors and the reorganisation need from the message tables and dossiers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from adapters.store import tables as t
from adapters.store.database import read_connection, translated


def open_dossiers_at(engine: Engine, agencies: Iterable[str]) -> list[tuple[str, str]]:
    """(code, agency) of the open dossiers now at one of ``agencies``, in code order."""
    wanted = sorted(set(agencies))
    if not wanted:
        return []
    d = t.dossiers.c
    query = (
        select(d.code, d.agency).where(d.closed.is_(False), d.agency.in_(wanted)).order_by(d.code)
    )
    with translated(str(engine.url)), read_connection(engine) as connection:
        return [(str(code), str(agency)) for code, agency in connection.execute(query)]


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """A message no receipt came back for after every attempt: for a supervisor to chase."""

    message_id: str
    dossier_code: str
    from_agency: str
    to_agency: str
    service: str
    attempts: int
    created_at: dt.datetime
    undeliverable_at: dt.datetime


def undeliverable(engine: Engine, agency: str | None = None) -> list[Undeliverable]:
    """Messages marked undeliverable (optionally only those sent by ``agency``), oldest first."""
    box = t.outbox.c
    query = (
        select(
            box.message_id,
            box.dossier_code,
            box.from_agency,
            box.to_agency,
            box.service,
            box.attempts,
            box.created_at,
            box.undeliverable_at,
        )
        .where(box.undeliverable_at.is_not(None), box.acknowledged_at.is_(None))
        .order_by(box.id)
    )
    if agency is not None:
        query = query.where(box.from_agency == agency)
    with translated(str(engine.url)), read_connection(engine) as connection:
        return [Undeliverable(*row) for row in connection.execute(query)]
