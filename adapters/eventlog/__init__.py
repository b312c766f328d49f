"""Event logs in and out: import a CSV or XES log, export the engine's history as one.

- :mod:`adapters.eventlog.reader`: :func:`read_log` reads a CSV or XES file (plain or gzip) into
  a :class:`workflow.history.EventLog`, its columns found by a
  :class:`~adapters.eventlog.mapping.LogMapping`;
- :mod:`adapters.eventlog.writer`: :func:`export_history` writes the dossiers' control sheets as
  a standard event log (XES or CSV) that process-mining tools read;
- storing an imported log is :mod:`adapters.store.event_logs`.

Problems with a log raise :class:`workflow.errors.InvalidLog`, naming the file, the line or the
field, and what to do.
"""

from __future__ import annotations

from adapters.eventlog.mapping import DEFAULT_MAPPING, FIELDS, LogMapping, load_mapping
from adapters.eventlog.reader import LogFormat, default_name, file_sha256, log_format, read_log

__all__ = [
    "DEFAULT_MAPPING",
    "FIELDS",
    "LogFormat",
    "LogMapping",
    "default_name",
    "file_sha256",
    "load_mapping",
    "log_format",
    "read_log",
]
