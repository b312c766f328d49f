"""Verify the hash chain of the control sheet (``lienthong audit verify``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from adapters.store import tables as t
from adapters.store.database import translated
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


def verify(engine: Engine, batch: int = 5_000) -> AuditReport:
    """Walk every dossier's control sheet in order and recompute every link."""
    dossiers = events = 0
    with translated(str(engine.url)), engine.connect() as connection:
        heads = connection.execute(
            select(t.dossiers.c.code, t.dossiers.c.head_hash).order_by(t.dossiers.c.code)
        ).all()
        rows = (
            connection.execution_options(yield_per=batch)
            .execute(select(t.events).order_by(t.events.c.dossier_code, t.events.c.seq))
            .mappings()
        )
        current: str | None = None
        previous = ""
        expected_seq = 1
        head_of: dict[str, str] = {code: head for code, head in heads}
        seen: set[str] = set()
        for row in rows:
            code = row["dossier_code"]
            if code != current:
                if current is not None and (broken := _head(current, previous, head_of)):
                    return AuditReport(dossiers, events, broken)
                current, previous, expected_seq = code, genesis(code), 1
                seen.add(code)
                dossiers += 1
            events += 1
            if row["seq"] != expected_seq:
                return AuditReport(
                    dossiers,
                    events,
                    BrokenLink(code, expected_seq, f"missing: found event {row['seq']} instead"),
                )
            if row["prev_hash"] != previous:
                return AuditReport(
                    dossiers,
                    events,
                    BrokenLink(code, row["seq"], "its link to the previous event does not match"),
                )
            digest = event_hash(code, to_event(row), previous)
            if row["hash"] != digest:
                return AuditReport(
                    dossiers,
                    events,
                    BrokenLink(code, row["seq"], "its content was changed after it was written"),
                )
            previous, expected_seq = digest, expected_seq + 1
        if current is not None and (broken := _head(current, previous, head_of)):
            return AuditReport(dossiers, events, broken)
        without = sorted(set(head_of) - seen)
        if without:
            return AuditReport(dossiers, events, BrokenLink(without[0], None, "it has no events"))
    return AuditReport(dossiers, events, None)


def _head(code: str, last: str, heads: dict[str, str]) -> BrokenLink | None:
    if code not in heads:
        return BrokenLink(code, None, "events exist for a dossier that does not")
    if heads[code] != last:
        return BrokenLink(code, None, "its last events were removed or its head was changed")
    return None
