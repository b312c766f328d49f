"""Which column (CSV) or attribute (XES) of a log holds each of our fields, and its instants.

The default names are the XES standard's, as pm4py writes them into CSV: ``case:concept:name``,
``concept:name``, ``time:timestamp``, ``org:resource``, ``org:group``, ``case:channel``,
``case:deadline``. A mapping file overrides some of them::

    case: dossier_id
    timestamp: completed_at
    group: null          # this log has no group column: do not look for one

In XES, the case-level fields (case, channel, deadline) are trace attributes, named without the
``case:`` prefix (``case:channel`` is the trace attribute ``channel``); the others are event
attributes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procedures.loader import read_yaml
from workflow.errors import InvalidLog
from workflow.history import to_us

REQUIRED = ("case", "activity", "timestamp")
OPTIONAL = ("resource", "group", "channel", "deadline")
FIELDS = REQUIRED + OPTIONAL
CASE_FIELDS = frozenset({"case", "channel", "deadline"})
"""Fields that belong to a case: trace attributes in XES, repeated on each row in CSV."""


@dataclass(frozen=True, slots=True)
class LogMapping:
    """The column of each field (``None``: the log has no such column). ``explicit``: the
    fields a mapping file named; a column named so must be in the log, while a default optional
    column may be absent."""

    case: str = "case:concept:name"
    activity: str = "concept:name"
    timestamp: str = "time:timestamp"
    resource: str | None = "org:resource"
    group: str | None = "org:group"
    channel: str | None = "case:channel"
    deadline: str | None = "case:deadline"
    explicit: frozenset[str] = field(default=frozenset())

    def column(self, name: str) -> str | None:
        """The column of the field ``name`` (one of :data:`FIELDS`)."""
        value: str | None = getattr(self, name)
        return value

    def as_dict(self) -> dict[str, str | None]:
        """Field to column, for the record of an import."""
        return {name: self.column(name) for name in FIELDS}


DEFAULT_MAPPING = LogMapping()


def mapping_from(values: Mapping[Any, Any], source: str = "the mapping") -> LogMapping:
    """The default mapping overridden by ``values`` (field to column name, or ``None`` to say an
    optional field is absent). Raises :class:`InvalidLog` naming ``source`` and the bad key."""
    unknown = sorted(str(key) for key in values if key not in FIELDS)
    if unknown:
        raise InvalidLog(
            f"{source}: unknown field(s) {', '.join(map(repr, unknown))}; the fields are "
            f"{', '.join(FIELDS)} (each mapped to a column name of the log)"
        )
    changes: dict[str, str | None] = {}
    for name, column in values.items():
        if column is None and name in REQUIRED:
            raise InvalidLog(
                f"{source}: field '{name}' is required and cannot be null; give the name of the "
                "column that holds it"
            )
        if column is not None and (not isinstance(column, str) or not column.strip()):
            raise InvalidLog(
                f"{source}: field '{name}': {column!r} is not a column name; give the column's "
                "name as text (quote it if it looks like a number)"
            )
        changes[name] = column.strip() if isinstance(column, str) else None
    columns = {**DEFAULT_MAPPING.as_dict(), **changes}
    return LogMapping(
        case=str(columns["case"]),
        activity=str(columns["activity"]),
        timestamp=str(columns["timestamp"]),
        resource=columns["resource"],
        group=columns["group"],
        channel=columns["channel"],
        deadline=columns["deadline"],
        explicit=frozenset(changes),
    )


def load_mapping(path: Path | None) -> LogMapping:
    """The mapping in the YAML file ``path`` (the default mapping for ``None``).

    Raises :class:`InvalidLog` when the file is missing, is not YAML, is not a mapping of our
    fields to column names, or names a field that is not one of :data:`FIELDS`.
    """
    if path is None:
        return DEFAULT_MAPPING
    if not path.is_file():
        raise InvalidLog(
            f"mapping file {path} not found; give a YAML file such as "
            "'{case: CaseID, activity: Activity, timestamp: Timestamp}'"
        )
    document, problems = read_yaml(path)
    if problems:
        raise InvalidLog(f"mapping file {problems[0]}; write it as YAML 'field: column' lines")
    if not isinstance(document, dict) or not document:
        raise InvalidLog(
            f"mapping file {path}: expected 'field: column' lines (fields: {', '.join(FIELDS)}), "
            f"found {type(document).__name__}"
        )
    return mapping_from(document, f"mapping file {path}")


def xes_key(mapping: LogMapping, name: str) -> str | None:
    """The XES attribute of the field ``name``: trace attributes lose the ``case:`` prefix."""
    column = mapping.column(name)
    if column is not None and name in CASE_FIELDS and column.startswith("case:"):
        return column.removeprefix("case:")
    return column


def parse_instant(text: str, where: str) -> int:
    """Microseconds since the epoch of an ISO 8601 instant with a UTC offset.

    ``where`` names the place (file, line, column) for the :class:`InvalidLog` raised when the
    text is not such an instant or has no offset.
    """
    try:
        instant = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidLog(
            f"{where}: cannot read the timestamp {text!r}; write instants in ISO 8601 with a UTC "
            "offset, e.g. 2026-03-02T09:00:00+07:00"
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidLog(
            f"{where}: the timestamp {text!r} has no UTC offset, so the instant is ambiguous; "
            "give an offset like +07:00 (e.g. 2026-03-02T09:00:00+07:00)"
        )
    return to_us(instant)
