"""Verify the hash chain of the control sheet (``lienthong audit verify``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.records import event_hash, genesis, to_event


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place where the chain does not hold."""

    dossier: str
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "its head"
        return f"dossier {self.dossier}, {where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """How many dossiers and events were checked, and the first broken link if any."""

    dossiers: int
    events: int
    broken: BrokenLink | None


@dataclass
class _Walk:
    heads: dict[str, str]
    dossiers: int = 0
    events: int = 0
    seen: set[str] = field(default_factory=set)

    def check(self, rows: Iterable[Mapping[Any, Any]]) -> BrokenLink | None:
        current: str | None = None
        previous = ""
        for row in rows:
            code = row["dossier_code"]
            if code != current:
                if current is not None and (broken := self.head(current, previous)):
                    return broken
                current, previous = code, genesis(code)
                self.seen.add(code)
                self.dossiers += 1
                expected = 1
            self.events += 1
            broken = self.link(row, code, expected, previous)
            if broken:
                return broken
            previous, expected = row["hash"], expected + 1
        if current is not None and (broken := self.head(current, previous)):
            return broken
        missing = sorted(set(self.heads) - self.seen)
        return BrokenLink(missing[0], None, "it has no events") if missing else None

    @staticmethod
    def link(row: Mapping[Any, Any], code: str, expected: int, previous: str) -> BrokenLink | None:
        if row["seq"] != expected:
            return BrokenLink(code, expected, f"missing: found event {row['seq']} instead")
        if row["prev_hash"] != previous:
            return BrokenLink(code, expected, "its link to the previous event does not match")
        if row["hash"] != event_hash(code, to_event(row), previous):
            return BrokenLink(code, expected, "its content was changed after it was written")
        return None

    def head(self, code: str, last: str) -> BrokenLink | None:
        if code not in self.heads:
            return BrokenLink(code, None, "events exist for a dossier that does not")
        if self.heads[code] != last:
            return BrokenLink(code, None, "its last events were removed or its head was changed")
        return None


def verify(engine: Engine, batch: int = 5_000) -> AuditReport:
    """Walk every dossier's control sheet in order and recompute every link."""
    with translated(str(engine.url)), read_connection(engine) as connection:
        heads = connection.execute(select(t.dossiers.c.code, t.dossiers.c.head_hash)).all()
        walk = _Walk(heads={code: head for code, head in heads})
        result = connection.execution_options(yield_per=batch).execute(
            select(t.events).order_by(t.events.c.dossier_code, t.events.c.seq)
        )
        try:
            broken = walk.check(result.mappings())
        finally:
            result.close()  # a server-side cursor stopped early must be closed

    return AuditReport(walk.dossiers, walk.events, broken)
