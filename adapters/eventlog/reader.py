"""Read an event log from CSV or XES (plain or gzip, by the file's name) into an EventLog.

:func:`read_log` reads the whole file before it returns, and raises
:class:`~workflow.errors.InvalidLog` at the first problem, naming the file, the line (CSV, the
header being line 1) or the trace and event (XES), and what to do. Nothing is stored here: the
caller stores a log only once it has been read completely.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from adapters.eventlog.mapping import DEFAULT_MAPPING, FIELDS, REQUIRED, LogMapping
from adapters.eventlog.rows import Rows, missing_columns
from adapters.eventlog.xes import read_xes
from workflow.errors import InvalidLog
from workflow.history import EventLog


class LogFormat(StrEnum):
    """The file formats of an event log."""

    CSV = "csv"
    XES = "xes"


def log_format(path: Path) -> LogFormat:
    """The format named by the file's extension (``.csv``, ``.xes``, either with ``.gz``)."""
    suffix = Path(path.name.removesuffix(".gz")).suffix.lower().lstrip(".")
    if suffix not in {f.value for f in LogFormat}:
        raise InvalidLog(
            f"{path.name}: cannot tell the log's format from its name; name it .csv, .xes, "
            ".csv.gz or .xes.gz, or give --format csv|xes"
        )
    return LogFormat(suffix)


def default_name(path: Path) -> str:
    """A log's default name: the file name without ``.gz`` and the format's extension."""
    return Path(path.name.removesuffix(".gz")).stem


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes (as stored, compressed or not), in hex."""
    digest = hashlib.sha256()
    with _opened(path) as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_log(
    path: Path,
    format: LogFormat | str | None = None,
    mapping: LogMapping = DEFAULT_MAPPING,
    name: str | None = None,
) -> EventLog:
    """The event log in ``path``, its columns found by ``mapping``.

    ``format`` defaults to the one named by the extension; a name ending in ``.gz`` is read
    through gzip. ``name`` defaults to :func:`default_name`. Raises :class:`InvalidLog` for a
    missing or unreadable file, missing columns, a bad or naive timestamp, or an empty log.
    """
    kind = LogFormat(format) if format is not None else log_format(path)
    rows = Rows(path.name)
    with _opened(path) as raw, _decoding(path.name):
        stream: BinaryIO | gzip.GzipFile = (
            gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        )
        if kind is LogFormat.CSV:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            read_csv(text, rows, mapping)
        else:
            read_xes(stream, rows, mapping)
    return rows.build(name or default_name(path))


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise InvalidLog(f"{path}: no such file; check the path") from None
    except OSError as error:
        raise InvalidLog(f"{path}: cannot be read ({error.strerror})") from None
    with raw:
        yield raw


@contextlib.contextmanager
def _decoding(file: str) -> Iterator[None]:
    """Translate a damaged gzip stream or bytes that are not UTF-8 into :class:`InvalidLog`."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise InvalidLog(
            f"{file}: not a complete gzip file ({error}); give the uncompressed file, or a name "
            "without .gz if it is not compressed"
        ) from None
    except UnicodeDecodeError as error:
        raise InvalidLog(
            f"{file}: not UTF-8 text ({error.reason} at byte {error.start} of a block); save the "
            "file as UTF-8"
        ) from None


def read_csv(text: io.TextIOWrapper, rows: Rows, mapping: LogMapping) -> None:
    """Add the events of a CSV file to ``rows``; line numbers count the header as line 1."""
    file = rows.file
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidLog(f"{file}: the file is empty; give a header line and events")
        columns = _columns(file, [c.strip() for c in header], mapping)
        width = len(header)
        for cells in reader:
            if not any(cells):
                continue  # a blank line
            if len(cells) != width:
                raise InvalidLog(
                    f"{file}, line {reader.line_num}: {len(cells)} cells where the header has "
                    f"{width}; quote cells that contain commas or line breaks"
                )
            _csv_row(rows, cells, columns, reader.line_num)
    except csv.Error as error:
        raise InvalidLog(f"{file}, line {reader.line_num}: not valid CSV ({error})") from None


def _columns(file: str, header: list[str], mapping: LogMapping) -> dict[str, tuple[int, str]]:
    """Field to (cell index, column name), for the fields whose column is in ``header``."""
    index: dict[str, int] = {}
    for i, column in enumerate(header):
        index.setdefault(column, i)
    wanted = {f: c for f in FIELDS if (c := mapping.column(f)) is not None}
    missing = [(f, c) for f, c in wanted.items() if c not in index and f in REQUIRED]
    if missing:
        raise missing_columns(file, missing, header, "column")
    unknown = [(f, c) for f, c in wanted.items() if c not in index and f in mapping.explicit]
    if unknown:
        raise InvalidLog(
            f"{file}: the mapping names column(s) not in the file: "
            + ", ".join(f"{f}: {c!r}" for f, c in unknown)
            + f"; columns found: {', '.join(map(repr, header))}. Fix the mapping file"
        )
    doubled = [c for f, c in wanted.items() if header.count(c) > 1]
    if doubled:
        raise InvalidLog(
            f"{file}: column(s) {', '.join(map(repr, doubled))} appear more than once in the "
            "header; rename them so that each field has one column"
        )
    return {f: (index[c], c) for f, c in wanted.items() if c in index}


def _csv_row(rows: Rows, cells: list[str], columns: dict[str, tuple[int, str]], line: int) -> None:
    def cell(name: str) -> str | None:
        found = columns.get(name)
        value = cells[found[0]].strip() if found else ""
        return value or None

    def required(name: str) -> str:
        value = cell(name)
        if value is None:
            raise InvalidLog(
                f"{rows.file}, line {line}: column {columns[name][1]!r} ({name}) is empty; "
                "every event needs a case, an activity and a timestamp"
            )
        return value

    def where(name: str) -> str:
        return f"{rows.file}, line {line}, column {columns[name][1]!r}"

    case = required("case")
    activity = required("activity")
    at = rows.instant(required("timestamp"), where("timestamp"))
    rows.event(case, activity, at, cell("resource"), cell("group"))
    deadline = cell("deadline")
    rows.case(
        case, cell("channel"), rows.instant(deadline, where("deadline")) if deadline else None
    )
