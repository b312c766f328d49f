"""The outbox relay: signs and publishes committed messages, until each is acknowledged.

A message enters the outbox in the same transaction as the change that caused it. The relay
publishes it after that commit, so a crash between commit and publish loses nothing: the next
run publishes it. Until the receiver's signed receipt arrives (:meth:`Relay.acknowledge`), the
relay publishes it again with exponential backoff (the receiver's inbox drops the copies); after
``max_attempts`` it marks the message undeliverable for a supervisor. It never drops one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, or_, select, update

from adapters.bus.kombu_bus import KombuBus
from adapters.bus.signing import Signer
from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.tables import Instant
from workflow.messages import Envelope, Service
from workflow.ports import Clock

log = logging.getLogger(__name__)

_BOX = t.outbox.c
# built once: SQLAlchemy then finds their compiled forms in its cache
_DUE = (
    select(t.outbox)
    .where(
        _BOX.acknowledged_at.is_(None),
        _BOX.undeliverable_at.is_(None),
        or_(_BOX.next_attempt_at.is_(None), _BOX.next_attempt_at <= bindparam("now")),
        _BOX.from_agency.in_(bindparam("senders", expanding=True)),
    )
    .order_by(_BOX.id)
    .limit(bindparam("limit"))
)
_AFTER_ATTEMPT = (
    update(t.outbox)
    .where(_BOX.id == bindparam("b_id"))
    .values(
        attempts=bindparam("v_attempts"),
        published_at=func.coalesce(bindparam("v_published", type_=Instant), _BOX.published_at),
        next_attempt_at=bindparam("v_next", type_=Instant),
        undeliverable_at=bindparam("v_undeliverable", type_=Instant),
    )
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before attempt n+1: ``first`` x ``factor``^(n-1), at most ``longest``."""

    first: dt.timedelta = dt.timedelta(seconds=5)
    factor: float = 2.0
    longest: dt.timedelta = dt.timedelta(minutes=10)

    def after(self, attempts: int) -> dt.timedelta:
        return min(self.first * self.factor ** max(attempts - 1, 0), self.longest)


@dataclass(frozen=True, slots=True)
class RelayReport:
    """What one run did."""

    published: int
    failed: int
    undeliverable: int


class Relay:
    """Publishes the outbox of one store to the bus."""

    def __init__(
        self,
        engine: Engine,
        bus: KombuBus,
        signers: Mapping[str, Signer],
        clock: Clock,
        *,
        max_attempts: int = 8,
        backoff: Backoff = Backoff(),
        ttl: dt.timedelta = dt.timedelta(days=2),
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.signers = signers
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.ttl = ttl
        self._senders = sorted(signers)

    def run_once(self, limit: int = 100) -> RelayReport:
        """Publish every message that is due (new, or not acknowledged in time), from the
        agencies this relay holds signing keys for."""
        now = self.clock.now()
        with translated(str(self.engine.url)), read_connection(self.engine) as connection:
            due = (
                connection.execute(_DUE, {"now": now, "senders": self._senders, "limit": limit})
                .mappings()
                .all()
            )
        if not due:
            return RelayReport(0, 0, 0)
        published = failed = undeliverable = 0
        updates: list[dict[str, object]] = []
        sent = self._publish(due)
        for row, ok in zip(due, sent, strict=True):
            attempts = row["attempts"] + 1
            published += ok
            failed += not ok
            last = attempts >= self.max_attempts
            undeliverable += last
            updates.append(
                {
                    "b_id": row["id"],
                    "v_attempts": attempts,
                    "v_published": now if ok else None,
                    "v_next": now + self.backoff.after(attempts),
                    "v_undeliverable": now if last else None,
                }
            )
        # one transaction for the run: a crash before it only means publishing again
        with translated(str(self.engine.url)), self.engine.begin() as connection:
            connection.execute(_AFTER_ATTEMPT, updates)
        return RelayReport(published, failed, undeliverable)

    def _publish(self, due: Sequence[Mapping[Any, Any]]) -> list[bool]:
        """Sign and publish the due rows in one batch; for each, whether the bus took it (a row
        that cannot be signed, say its key is gone, counts as failed and is tried again)."""
        wires: list[tuple[bytes, str] | None] = []
        for row in due:
            try:
                wires.append((self._envelope(row).to_json(), str(row["to_agency"])))
            except Exception:
                log.exception("message %s could not be signed", row["message_id"])
                wires.append(None)
        ready = [wire for wire in wires if wire is not None]
        taken = iter(self.bus.publish_many(ready) if ready else [])
        return [wire is not None and next(taken) for wire in wires]

    def _envelope(self, row: Mapping[Any, Any]) -> Envelope:
        content = row["envelope"]
        assert isinstance(content, dict)
        signer = self.signers[str(row["from_agency"])]
        created = row["created_at"]
        assert isinstance(created, dt.datetime)
        draft = Envelope.draft(
            message_id=str(row["message_id"]),
            from_agency=str(row["from_agency"]),
            to_agency=str(row["to_agency"]),
            service=Service(str(row["service"])),
            dossier_code=str(row["dossier_code"]),
            step=content.get("step"),
            created=created,
            ttl=self.ttl,
            key_id=signer.key_id,
            body=dict(content.get("body") or {}),
        )
        return signer.sign(draft)

    def acknowledge(self, message_id: str) -> bool:
        """Record the receiver's receipt: no more attempts (and, if it comes after the last
        one, no longer undeliverable). False if unknown or already acknowledged."""
        box = t.outbox.c
        with self.engine.begin() as connection:
            done = connection.execute(
                update(t.outbox)
                .where(box.message_id == message_id, box.acknowledged_at.is_(None))
                .values(acknowledged_at=self.clock.now(), undeliverable_at=None)
            )
        return done.rowcount == 1
