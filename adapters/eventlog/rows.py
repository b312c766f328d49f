"""The columns of a log while it is read, whatever the file format."""

from __future__ import annotations

from adapters.eventlog.mapping import parse_instant
from workflow.errors import InvalidLog
from workflow.history import EventLog


class Rows:
    """The columns of a log as it is read: events row by row, case attributes per case."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.case_ids: list[str] = []
        self.activities: list[str] = []
        self.instants: list[int] = []
        self.resources: list[str | None] = []
        self.groups: list[str | None] = []
        self.channels: dict[str, str | None] = {}
        self.deadlines: dict[str, int] = {}
        self._instants: dict[str, int] = {}

    def instant(self, text: str, where: str) -> int:
        """``text`` as microseconds (see :func:`parse_instant`); repeated texts parse once."""
        known = self._instants.get(text)
        if known is None:
            known = self._instants[text] = parse_instant(text, where)
        return known

    def event(
        self, case: str, activity: str, at: int, resource: str | None, group: str | None
    ) -> None:
        """Add one event."""
        self.case_ids.append(case)
        self.activities.append(activity)
        self.instants.append(at)
        self.resources.append(resource)
        self.groups.append(group)

    def case(self, case: str, channel: str | None, deadline: int | None) -> None:
        """Note a case's channel and deadline; the first value given for a case is kept."""
        if channel is not None and self.channels.get(case) is None:
            self.channels[case] = channel
        if deadline is not None and case not in self.deadlines:
            self.deadlines[case] = deadline

    def build(self, name: str) -> EventLog:
        """The log; :class:`InvalidLog` when it has no event."""
        if not self.case_ids:
            raise InvalidLog(
                f"{self.file}: the log has no events; give a file with at least one event"
            )
        return EventLog.build(
            name,
            self.case_ids,
            self.activities,
            self.instants,
            self.resources,
            self.groups,
            self.channels,
            self.deadlines,
        )


def missing_columns(
    file: str, missing: list[tuple[str, str]], found: list[str], what: str
) -> InvalidLog:
    """The error for required fields whose column (``what``: column, attribute) is missing."""
    names = ", ".join(f"{field} ({column!r})" for field, column in missing)
    return InvalidLog(
        f"{file}: no {what} for {names}; {what}s found: {', '.join(map(repr, found)) or 'none'}. "
        f"Name the right ones in a YAML mapping file ('case: COLUMN', ...) given with --mapping"
    )
