"""Read an XES (IEEE 1849) event log with the standard library, one trace at a time.

The file is parsed as a stream (``xml.etree.ElementTree.iterparse``): each trace is read when its
closing tag arrives and then dropped, so memory holds one trace, not the log. Trace attributes
give the case, its channel and deadline; event attributes give the activity, timestamp, resource
and group. Nested attributes (inside another attribute) and log-level attributes are ignored.
Errors name the trace (1 for the first) and the event within it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from adapters.eventlog.mapping import CASE_FIELDS, FIELDS, REQUIRED, LogMapping, xes_key
from adapters.eventlog.rows import Rows, missing_columns
from workflow.errors import InvalidLog

if TYPE_CHECKING:
    from _typeshed import SupportsRead

ATTRIBUTES = frozenset({"string", "date", "int", "float", "boolean", "id"})
"""The XES elements that hold one value (``key`` and ``value``)."""


def read_xes(stream: SupportsRead[bytes], rows: Rows, mapping: LogMapping) -> None:
    """Add the events of the XES document in ``stream`` to ``rows``.

    Raises :class:`InvalidLog` for a document that is not well-formed XML or not an XES log, a
    trace without a case id, an event without an activity or timestamp, an unreadable or naive
    instant, or an attribute the mapping names explicitly that no trace or event has.
    """
    traces = _Traces(rows, mapping)
    root: ET.Element | None = None
    depth = 0
    try:
        for kind, element in ET.iterparse(stream, events=("start", "end")):
            if kind == "start":
                if root is None:
                    root = _root(element, rows.file)
                depth += 1
                continue
            depth -= 1
            if depth == 1 and root is not None:  # a child of <log> is complete
                if _local(element.tag) == "trace":
                    traces.read(element)
                root.clear()
    except ET.ParseError as error:
        raise InvalidLog(
            f"{rows.file}: not well-formed XML ({error}); give a valid XES file"
        ) from None
    if root is None:
        raise InvalidLog(f"{rows.file}: the file is empty; give an XES log")
    traces.finish()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _root(element: ET.Element, file: str) -> ET.Element:
    if _local(element.tag) != "log":
        raise InvalidLog(
            f"{file}: not an XES log (the document is <{_local(element.tag)}>, not <log>); "
            "give an XES file, or --format csv for a CSV file"
        )
    return element


def _attributes(element: ET.Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for child in element:
        key = child.get("key")
        if key is not None and _local(child.tag) in ATTRIBUTES:
            values[key] = child.get("value", "")
    return values


class _Traces:
    """Turns traces into rows, remembering which attributes the log has for error messages."""

    def __init__(self, rows: Rows, mapping: LogMapping) -> None:
        self.rows = rows
        self.mapping = mapping
        self.keys = {name: xes_key(mapping, name) for name in FIELDS}
        self.seen = {"trace": set[str](), "event": set[str]()}
        self.count = 0

    def read(self, trace: ET.Element) -> None:
        """Add the events of one trace (a trace without events is skipped)."""
        self.count += 1
        events = [child for child in trace if _local(child.tag) == "event"]
        if not events:
            return  # a case with no events has nothing to count
        where = f"{self.rows.file}, trace {self.count}"
        values = _attributes(trace)
        self.seen["trace"] |= values.keys()
        case = self._required(values, "trace", ("case",), where)["case"]
        where += f" (case {case!r})"
        deadline = self._optional(values, "deadline")
        self.rows.case(
            case,
            self._optional(values, "channel"),
            None if deadline is None else self.rows.instant(deadline, self._at(where, "deadline")),
        )
        for number, event in enumerate(events, start=1):
            self._event(case, _attributes(event), f"{where}, event {number}")

    def _event(self, case: str, values: dict[str, str], where: str) -> None:
        self.seen["event"] |= values.keys()
        found = self._required(values, "event", ("activity", "timestamp"), where)
        at = self.rows.instant(found["timestamp"], self._at(where, "timestamp"))
        self.rows.event(
            case,
            found["activity"],
            at,
            self._optional(values, "resource"),
            self._optional(values, "group"),
        )

    def _at(self, where: str, name: str) -> str:
        return f"{where}, attribute {self.keys[name]!r}"

    def _optional(self, values: dict[str, str], name: str) -> str | None:
        key = self.keys[name]
        if key is None:
            return None
        return values.get(key, "").strip() or None

    def _required(
        self, values: dict[str, str], level: str, names: tuple[str, ...], where: str
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        missing: list[tuple[str, str]] = []
        for name in names:
            key = self.keys[name]
            assert key is not None  # required fields always have a key
            value = values.get(key, "").strip()
            if value:
                found[name] = value
            else:
                missing.append((name, key))
        unseen = [(name, key) for name, key in missing if key not in self.seen[level]]
        if unseen:  # not in any trace (event) so far: the mapping is probably wrong
            raise missing_columns(
                self.rows.file, unseen, sorted(self.seen[level]), level + " attribute"
            )
        if missing:
            name, key = missing[0]
            raise InvalidLog(
                f"{where}: {level} attribute {key!r} ({name}) is missing or empty; every trace "
                "needs a case id, and every event an activity and a timestamp"
            )
        return found

    def finish(self) -> None:
        """Check that every attribute the mapping file names was met at least once."""
        absent = []
        for name in self.mapping.explicit - set(REQUIRED):
            key = self.keys[name]
            level = "trace" if name in CASE_FIELDS else "event"
            if key is not None and key not in self.seen[level]:
                absent.append(f"{name}: {key!r} ({level} attribute)")
        if absent:
            raise InvalidLog(
                f"{self.rows.file}: the mapping names attribute(s) not in the log: "
                f"{', '.join(sorted(absent))}; trace attributes found: "
                f"{', '.join(map(repr, sorted(self.seen['trace'])))}; event attributes found: "
                f"{', '.join(map(repr, sorted(self.seen['event'])))}. Fix the mapping file"
            )
