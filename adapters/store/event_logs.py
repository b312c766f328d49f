"""Imported event logs in the store: ``event_logs``, ``log_cases`` and ``log_events``.

A log is written all at once (:func:`store_log`, one transaction) and read back whole
(:func:`load_log`) as the :class:`~workflow.history.EventLog` it was. ``log_events.seq`` numbers
a case's events in the log's order: by instant, ties as in the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, exc, select

from adapters.store import tables as t
from adapters.store.database import translated
from workflow.errors import InvalidLog, StoreError
from workflow.history import NAT, EventLog, case_bounds, from_us, to_us

BATCH = 5000
"""Rows per executemany insert."""


class LogExists(StoreError):
    """A log of that name is already stored (import it with ``replace`` to overwrite it)."""


class UnknownLog(StoreError):
    """No stored log has that name."""


@dataclass(frozen=True, slots=True)
class StoredLog:
    """The record of one import."""

    name: str
    format: str
    source: str
    sha256: str
    mapping: dict[str, str | None]
    imported_at: dt.datetime
    cases: int
    events: int


def store_log(
    engine: Engine,
    log: EventLog,
    *,
    format: str,
    source: str,
    sha256: str,
    mapping: Mapping[str, str | None],
    now: dt.datetime,
    replace: bool = False,
) -> StoredLog:
    """Write ``log`` under ``log.name`` in one transaction: all of it, or nothing.

    ``source`` is kept as the file's base name only. Raises :class:`LogExists` if the name is
    taken, unless ``replace`` (then the old log is deleted in the same transaction);
    :class:`InvalidLog` for a name or value longer than its column allows; a translated
    :class:`StoreError` if the database fails (nothing is written).
    """
    _check_sizes(log)
    record = StoredLog(
        name=log.name,
        format=format,
        source=PurePath(source).name,
        sha256=sha256,
        mapping=dict(mapping),
        imported_at=now,
        cases=log.case_count,
        events=len(log),
    )
    with translated(str(engine.url)), _refused(log.name), engine.begin() as connection:
        taken = connection.execute(
            select(t.event_logs.c.name).where(t.event_logs.c.name == log.name)
        ).first()
        if taken is not None:
            if not replace:
                raise LogExists(
                    f"a log named {log.name!r} is already stored; give another --name, or "
                    "--replace to overwrite it"
                )
            _delete(connection, log.name)
        connection.execute(t.event_logs.insert().values(**_record_row(record)))
        for rows in _batches(_case_rows(log)):
            connection.execute(t.log_cases.insert(), rows)
        for rows in _batches(_event_rows(log)):
            connection.execute(t.log_events.insert(), rows)
    return record


def load_log(engine: Engine, name: str) -> EventLog:
    """The stored log ``name``, as it was stored. Raises :class:`UnknownLog` listing the known
    names."""
    e, c = t.log_events.c, t.log_cases.c
    statement = (
        select(e.case_id, e.activity, e.at, e.resource, e.group, c.channel, c.deadline)
        .select_from(
            t.log_events.join(t.log_cases, (e.log_name == c.log_name) & (e.case_id == c.case_id))
        )
        .where(e.log_name == name)
        .order_by(e.case_id, e.seq)
    )
    cases: list[str] = []
    activities: list[str] = []
    instants: list[int] = []
    resources: list[str | None] = []
    groups: list[str | None] = []
    channels: dict[str, str | None] = {}
    deadlines: dict[str, int] = {}
    with translated(str(engine.url)), _reading(engine) as connection:
        for row in connection.execute(statement):
            cases.append(row.case_id)
            activities.append(row.activity)
            instants.append(to_us(row.at))
            resources.append(row.resource)
            groups.append(row.group)
            if row.case_id not in channels:
                channels[row.case_id] = row.channel
                if row.deadline is not None:
                    deadlines[row.case_id] = to_us(row.deadline)
    if not cases:
        known = [log.name for log in list_logs(engine)]
        raise UnknownLog(
            f"no stored log named {name!r}; stored logs: {', '.join(known) or 'none'} "
            "(import one with `lienthong import-log`)"
        )
    return EventLog.build(name, cases, activities, instants, resources, groups, channels, deadlines)


def list_logs(engine: Engine) -> list[StoredLog]:
    """Every stored log's record, by name."""
    with translated(str(engine.url)), _reading(engine) as connection:
        rows = connection.execute(select(t.event_logs).order_by(t.event_logs.c.name)).all()
    return [
        StoredLog(
            name=row.name,
            format=row.format,
            source=row.source,
            sha256=row.sha256,
            mapping=dict(row.mapping),
            imported_at=row.imported_at,
            cases=row.cases,
            events=row.events,
        )
        for row in rows
    ]


def _reading(engine: Engine) -> Connection:
    """A connection for one reading statement: no transaction, so no write lock on SQLite."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def _refused(name: str) -> Iterator[None]:
    """Translate the database refusing a row into :class:`StoreError` naming the log."""
    try:
        yield
    except exc.IntegrityError as error:
        raise LogExists(
            f"another import stored a log named {name!r} first; nothing was written. Give "
            "another --name, or --replace"
        ) from error
    except exc.DataError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise StoreError(
            f"the database refused a value of log {name!r} ({reason}); nothing was written. "
            "Clean the value in the file and import it again"
        ) from error


def _delete(connection: Connection, name: str) -> None:
    connection.execute(delete(t.log_events).where(t.log_events.c.log_name == name))
    connection.execute(delete(t.log_cases).where(t.log_cases.c.log_name == name))
    connection.execute(delete(t.event_logs).where(t.event_logs.c.name == name))


def _record_row(record: StoredLog) -> dict[str, Any]:
    return {
        "name": record.name,
        "format": record.format,
        "source": record.source,
        "sha256": record.sha256,
        "mapping": record.mapping,
        "imported_at": record.imported_at,
        "cases": record.cases,
        "events": record.events,
    }


def _case_rows(log: EventLog) -> Iterator[dict[str, Any]]:
    for index, case_id in enumerate(log.case_id):
        deadline = int(log.deadline[index])
        yield {
            "log_name": log.name,
            "case_id": case_id,
            "channel": log.channel.name(index),
            "deadline": None if deadline == NAT else from_us(deadline),
        }


def _event_rows(log: EventLog) -> Iterator[dict[str, Any]]:
    first, _ = case_bounds(log.case, log.case_count)
    seq = np.arange(len(log)) - first[log.case]
    for row in range(len(log)):
        yield {
            "log_name": log.name,
            "case_id": log.case_id[int(log.case[row])],
            "seq": int(seq[row]),
            "activity": log.activity.name(row),
            "at": from_us(int(log.at[row])),
            "resource": log.resource.name(row),
            "group": log.group.name(row),
        }


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


_LIMITS = (("case id", 128), ("resource", 128), ("group", 128), ("channel", 64))


def _check_sizes(log: EventLog) -> None:
    """Refuse, before writing, names and values longer than their columns."""
    if not log.name or len(log.name) > 64:
        raise InvalidLog(
            f"log name {log.name!r} must have 1 to 64 characters; give a shorter --name"
        )
    values = {
        "case id": log.case_id,
        "resource": log.resource.names,
        "group": log.group.names,
        "channel": log.channel.names,
    }
    for what, limit in _LIMITS:
        long = next((v for v in values[what] if len(v) > limit), None)
        if long is not None:
            raise InvalidLog(
                f"log {log.name!r}: the {what} {long[:40]!r}... has {len(long)} characters, more "
                f"than the {limit} the store keeps; shorten it in the file"
            )
