"""Import an event log file into the store: read it completely, then store it in one go."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from adapters.eventlog.mapping import DEFAULT_MAPPING, LogMapping
from adapters.eventlog.reader import LogFormat, default_name, file_sha256, log_format, read_log
from adapters.store.event_logs import StoredLog, store_log
from workflow.history import EventLog


def import_log(
    engine: Engine,
    path: Path,
    *,
    now: dt.datetime,
    format: LogFormat | str | None = None,
    mapping: LogMapping = DEFAULT_MAPPING,
    name: str | None = None,
    replace: bool = False,
) -> tuple[StoredLog, EventLog]:
    """Read the log in ``path`` (see :func:`~adapters.eventlog.reader.read_log`) and store it
    under ``name`` (default: the file's stem) with its format, file name, SHA-256 and mapping.

    All or nothing: a log that cannot be read stores nothing, and storing is one transaction.
    Raises :class:`~workflow.errors.InvalidLog` for the file, and
    :class:`~adapters.store.event_logs.LogExists` for a name already stored (unless
    ``replace``) or another :class:`~workflow.errors.StoreError` from the store.
    """
    kind = LogFormat(format) if format is not None else log_format(path)
    log = read_log(path, kind, mapping, name or default_name(path))
    stored = store_log(
        engine,
        log,
        format=kind.value,
        source=path.name,
        sha256=file_sha256(path),
        mapping=mapping.as_dict(),
        now=now,
        replace=replace,
    )
    return stored, log
