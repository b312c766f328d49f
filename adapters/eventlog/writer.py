"""Export the engine's history (dossiers and their control sheets) as a standard event log.

One case (XES trace) per dossier, named by its code, with its procedure code and version, channel,
when it was received and when it is due (``deadline``); one event per control-sheet row, named by
the state entered, with its instant, the officer who acted (``org:resource``), the agency where
it happened (``org:group``), the trigger and the national status. The applicant's reference,
identity number and any note are never written. The file reads back with
:func:`adapters.eventlog.read_log` (default mapping) and with process-mining tools (pm4py, ProM).

Rows are streamed from the database and written as they come; the file appears complete or not
at all (written to a temporary file beside it, then renamed).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import os
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from sqlalchemy import Engine, select

from adapters.eventlog.reader import LogFormat
from adapters.store import tables as t
from adapters.store.database import translated

VIETNAM = dt.timezone(dt.timedelta(hours=7), "+07:00")
"""Vietnam's offset (no daylight saving): the default offset of exported instants."""

CSV_COLUMNS = (
    "case:concept:name",
    "case:procedure",
    "case:procedure_version",
    "case:channel",
    "case:received_at",
    "case:deadline",
    "concept:name",
    "lifecycle:transition",
    "time:timestamp",
    "org:resource",
    "org:group",
    "trigger",
    "status",
)

_XES_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <classifier name="Activity" keys="concept:name"/>
  <string key="concept:name" value="lienthong control sheets"/>
"""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    format: LogFormat
    cases: int
    events: int


def export_history(
    engine: Engine, path: Path, format: LogFormat | str, *, offset: dt.tzinfo = VIETNAM
) -> ExportSummary:
    """Write every dossier's control sheet to ``path`` as an XES or CSV event log (gzip when the
    name ends in ``.gz``), instants at ``offset``. An existing file is replaced only once the new
    one is complete. Raises ``OSError`` if the file cannot be written, a translated store error
    if the database cannot be read."""
    kind = LogFormat(format)
    with (
        _atomic(path) as stream,
        translated(str(engine.url)),
        contextlib.closing(_history_rows(engine)) as rows,
    ):
        if kind is LogFormat.XES:
            cases, events = _write_xes(stream, rows, offset)
        else:
            cases, events = _write_csv(stream, rows, offset)
    return ExportSummary(path, kind, cases, events)


def _history_rows(engine: Engine) -> Generator[Any, None, None]:
    """Control-sheet rows with their dossier's case attributes, by dossier then sequence."""
    d, e = t.dossiers.c, t.events.c
    statement = (
        select(
            d.code,
            d.procedure_code,
            d.procedure_version,
            d.channel,
            d.received_at,
            d.due_at,
            e.to_state,
            e.at,
            e.actor,
            e.agency,
            e.trigger,
            e.status,
        )
        .select_from(t.events.join(t.dossiers, e.dossier_code == d.code))
        .order_by(e.dossier_code, e.seq)
    )
    options: dict[str, Any] = {"yield_per": 1000}
    if engine.dialect.name == "sqlite":  # one statement: no write lock, and one snapshot
        options["isolation_level"] = "AUTOCOMMIT"
    with engine.connect() as connection:
        yield from connection.execution_options(**options).execute(statement)


def _instant(value: dt.datetime | None, offset: dt.tzinfo) -> str:
    return "" if value is None else value.astimezone(offset).isoformat()


def _write_csv(stream: IO[str], rows: Iterator[Any], offset: dt.tzinfo) -> tuple[int, int]:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cases: set[str] = set()
    events = 0
    for row in rows:
        cases.add(row.code)
        events += 1
        writer.writerow(
            (
                row.code,
                row.procedure_code,
                row.procedure_version,
                row.channel,
                _instant(row.received_at, offset),
                _instant(row.due_at, offset),
                row.to_state,
                "complete",
                _instant(row.at, offset),
                row.actor,
                row.agency,
                row.trigger,
                row.status,
            )
        )
    return len(cases), events


def _attribute(kind: str, key: str, value: object) -> str:
    return f"<{kind} key={quoteattr(key)} value={quoteattr(str(value))}/>"


def _write_xes(stream: IO[str], rows: Iterator[Any], offset: dt.tzinfo) -> tuple[int, int]:
    stream.write(_XES_HEAD)
    current: str | None = None
    cases = events = 0
    for row in rows:
        if row.code != current:
            if current is not None:
                stream.write("  </trace>\n")
            current = row.code
            cases += 1
            case = [
                _attribute("string", "concept:name", row.code),
                _attribute("string", "procedure", row.procedure_code),
                _attribute("string", "procedure_version", row.procedure_version),
                _attribute("string", "channel", row.channel),
                _attribute("date", "received_at", _instant(row.received_at, offset)),
            ]
            if row.due_at is not None:
                case.append(_attribute("date", "deadline", _instant(row.due_at, offset)))
            stream.write("  <trace>\n" + "".join(f"    {a}\n" for a in case))
        events += 1
        event = (
            _attribute("string", "concept:name", row.to_state),
            _attribute("string", "lifecycle:transition", "complete"),
            _attribute("date", "time:timestamp", _instant(row.at, offset)),
            _attribute("string", "org:resource", row.actor),
            _attribute("string", "org:group", row.agency),
            _attribute("string", "trigger", row.trigger),
            _attribute("int", "status", row.status),
        )
        stream.write("    <event>\n" + "".join(f"      {a}\n" for a in event) + "    </event>\n")
    if current is not None:
        stream.write("  </trace>\n")
    stream.write("</log>\n")
    return cases, events


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text stream whose content becomes ``path`` (gzip for ``.gz``) when the block
    ends without error; on error the temporary file is removed and ``path`` is untouched."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, then renamed)
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    binary: IO[bytes] | gzip.GzipFile = handle
    done = False
    try:
        if path.name.endswith(".gz"):
            name = path.name.removesuffix(".gz")
            binary = gzip.GzipFile(filename=name, mode="wb", fileobj=handle, mtime=0)
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            yield text
            text.flush()
        finally:
            with contextlib.suppress(OSError, ValueError):
                text.detach()  # the wrapper must not close the file behind our back
        if binary is not handle:
            binary.close()  # writes the gzip trailer; the file itself stays open
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.chmod(handle.name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(handle.name, path)
        done = True
    finally:
        if not done:
            if binary is not handle:
                with contextlib.suppress(OSError, ValueError):
                    binary.close()
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
