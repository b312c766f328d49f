"""Detecting alerts: each change of a dossier or step to at risk or overdue becomes one row of
``sla_alerts`` per hook that covers it, the outbox the delivery reads.

A row's key is (dossier, kind, standing, due instant, hook), unique in the table: however
often, and from however many processes, the evaluation runs, one change makes one row. A new
due instant (the next step, a reset return date) is a new change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.alerts.config import Hook
from adapters.store import tables as t
from adapters.store.database import translated
from adapters.store.sla_board import standing_of_open
from adapters.store.store import SqlStore
from workflow.board import hours_left
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.sla import SlaPolicy, Standing

_A = t.sla_alerts.c
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert to record: one at-risk or overdue dossier or step, for one hook."""

    hook: Hook
    kind: str
    code: str
    agency: str
    procedure: str
    step: str | None
    due_at: dt.datetime
    standing: Standing

    @property
    def key(self) -> tuple[str, str, str, dt.datetime, str]:
        return (self.code, self.kind, self.standing.value, self.due_at, self.hook.name)

    def payload(self, at: dt.datetime, calendar: WorkingCalendar) -> dict[str, Any]:
        """What the receiver is told (the alert id is added when it is sent): codes and
        instants only, no personal data."""
        return {
            "hook": self.hook.name,
            "dossier": self.code,
            "agency": self.agency,
            "procedure": self.procedure,
            "step": self.step,
            "kind": self.kind,
            "standing": self.standing.value,
            "due_at": self.due_at.astimezone(calendar.tz).isoformat(),
            "hours_left": round(hours_left(at, self.due_at, calendar), 2),
            "detected_at": at.astimezone(calendar.tz).isoformat(),
        }


def candidates(
    standings: Iterable[tuple[str, str, str, str, str | None, dt.datetime, Standing]],
    hooks: Sequence[Hook],
) -> list[Candidate]:
    """Every (item, hook) pair where the hook covers the item's agency, kind and standing."""
    return [
        Candidate(hook, kind, code, agency, procedure, step, due, standing)
        for kind, code, agency, procedure, step, due, standing in standings
        for hook in hooks
        if hook.covers(agency, kind, standing)
    ]


def _known(
    connection: Connection, codes: Sequence[str]
) -> tuple[set[tuple[str, str, str, dt.datetime, str]], dict[tuple[str, str, str], dt.datetime]]:
    """The keys of the alerts already recorded about ``codes``, and when each dossier, kind
    and hook was last alerted about."""
    keys: set[tuple[str, str, str, dt.datetime, str]] = set()
    last: dict[tuple[str, str, str], dt.datetime] = {}
    for start in range(0, len(codes), _CHUNK):
        statement = select(
            _A.dossier_code, _A.kind, _A.standing, _A.due_at, _A.hook, _A.detected_at
        ).where(_A.dossier_code.in_(codes[start : start + _CHUNK]))
        for row in connection.execute(statement):
            keys.add((row.dossier_code, row.kind, row.standing, row.due_at, row.hook))
            pair = (row.dossier_code, row.kind, row.hook)
            if pair not in last or row.detected_at > last[pair]:
                last[pair] = row.detected_at
    return keys, last


def _insert(connection: Connection) -> Any:
    """An INSERT that does nothing on a duplicate key (another process recorded it first)."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(t.sla_alerts).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(t.sla_alerts).on_conflict_do_nothing()
    return insert(t.sla_alerts)


def record(
    store: SqlStore, found: Sequence[Candidate], at: dt.datetime, calendar: WorkingCalendar
) -> list[int]:
    """Record each candidate not recorded before and not held back by its hook's cooldown (an
    alert about the same dossier and kind to the same hook detected less than ``cooldown``
    before ``at``); the ids of the new rows. One transaction."""
    new: list[int] = []
    if not found:
        return new
    with translated(store.url), store.engine.begin() as connection:
        keys, last = _known(connection, sorted({c.code for c in found}))
        statement = _insert(connection).returning(_A.id)
        for candidate in found:
            if candidate.key in keys:
                continue
            previous = last.get((candidate.code, candidate.kind, candidate.hook.name))
            if previous is not None and at - previous < candidate.hook.cooldown:
                continue
            row = connection.execute(
                statement,
                {
                    "dossier_code": candidate.code,
                    "agency": candidate.agency,
                    "kind": candidate.kind,
                    "standing": candidate.standing.value,
                    "due_at": candidate.due_at,
                    "hook": candidate.hook.name,
                    "detected_at": at,
                    "payload": candidate.payload(at, calendar),
                    "attempts": 0,
                    "next_attempt_at": at,
                },
            ).scalar_one_or_none()
            if row is not None:
                new.append(int(row))
                last[(candidate.code, candidate.kind, candidate.hook.name)] = at
    return new


def evaluate(
    store: SqlStore,
    hooks: Sequence[Hook],
    at: dt.datetime,
    *,
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    policy: SlaPolicy,
) -> list[int]:
    """Record an alert, to each hook that covers it, about every dossier and step at risk or
    overdue at ``at`` that no alert was recorded about yet (see :func:`record`); the ids of
    the new alerts, which :func:`adapters.alerts.delivery.deliver` sends."""
    if not hooks:
        return []
    standings = standing_of_open(store.engine, store.url, at, catalogue, calendar, policy)
    return record(store, candidates(standings, hooks), at, calendar)
