"""The receiving side of a hand-over: check, record once, answer with a signed receipt.

For each message on an agency's queue the :class:`Receiver`:

1. parses and checks the envelope (signature, body hash, expiry, who may call what): a failure
   goes to the agency's dead-letter queue with its reason, and nothing is written;
2. for a receipt: records it on the sender's outbox row (no more attempts) and sends nothing
   back: receipts are never receipted;
3. otherwise, in one transaction: checks that the dossier exists and records the message in the
   ``inbox`` (the register of received messages: when, from whom, for which dossier) with the
   signed receipt it answers with; once the message is acknowledged, sends that receipt to
   the sender (:meth:`Receiver.send_receipts`).

A copy of a message already recorded (same id, same content) is acknowledged and its original
receipt sent again; nothing is recorded twice. A message that reuses a recorded id with other
content is a replay and is dead-lettered. A message addressed to an agency that was replaced is
taken by the successor's worker, which consumes the predecessor's queue too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.bus.signing import KeyRegistry, Reason, Rejected, Signer
from adapters.store import tables as t
from adapters.store.database import translated
from workflow.agencies import AgencyDirectory
from workflow.errors import StoreError, UnknownAgency
from workflow.messages import Envelope, Service
from workflow.ports import Bus, Clock, Handled, Outcome

log = logging.getLogger(__name__)


_DOSSIER = select(t.dossiers.c.code).where(t.dossiers.c.code == bindparam("code"))
_INSERTS: dict[str, Any] = {}
_ACKNOWLEDGE = (
    update(t.outbox)
    .where(
        t.outbox.c.message_id == bindparam("b_message"),
        t.outbox.c.to_agency.in_(bindparam("addressees", expanding=True)),
    )
    .values(
        acknowledged_at=func.coalesce(
            t.outbox.c.acknowledged_at, bindparam("now", type_=t.outbox.c.acknowledged_at.type)
        ),
        undeliverable_at=None,
    )
)


def _insert_once(dialect_name: str) -> Any:
    """``INSERT INTO inbox ... ON CONFLICT (message_id) DO NOTHING RETURNING message_id``, built
    once per dialect."""
    statement = _INSERTS.get(dialect_name)
    if statement is None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        statement = _INSERTS[dialect_name] = (
            dialect.insert(t.inbox)
            .on_conflict_do_nothing(index_elements=[t.inbox.c.message_id])
            .returning(t.inbox.c.message_id)  # a row back only if it was inserted
        )
    return statement


def _dead(rejected: Rejected) -> Handled:
    log.warning("message rejected to the dead-letter queue: %s", rejected)
    return Handled(Outcome.DEAD, f"{rejected.reason.value}: {rejected.detail}")


def digest(envelope: Envelope) -> str:
    """SHA-256 of the envelope's canonical bytes, signature included: an exact copy has the
    same digest, a message that reuses an id with other content does not."""
    return hashlib.sha256(envelope.to_json()).hexdigest()


class Receiver:
    """Handles the messages that reach one agency's worker."""

    def __init__(
        self,
        engine: Engine,
        bus: Bus,
        registry: KeyRegistry,
        signers: Mapping[str, Signer],
        clock: Clock,
        directory: AgencyDirectory,
        *,
        ttl: dt.timedelta = dt.timedelta(days=2),
        tz: dt.tzinfo = dt.UTC,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.registry = registry
        self.signers = signers
        self.clock = clock
        self.directory = directory
        self.ttl = ttl
        self.tz = tz
        self.receipts: list[tuple[bytes, str]] = []  # to send once the consumer returns
        self._held: dict[str, list[str]] = {}

    def handle(self, queue_agency: str, raw: bytes) -> Handled:
        """Decide one message from ``queue_agency``'s queue (see the module's docstring)."""
        return self.handle_batch([(queue_agency, raw)])[0]

    def handle_batch(self, items: list[tuple[str, bytes]]) -> list[Handled]:
        """Decide messages (queue agency, raw), recording all their effects in one
        transaction: one commit for the batch. A message rejected for a reason of its own goes
        to the dead-letter queue alone; if the store fails, every message is left for later."""
        now = self.clock.now()
        results: list[Handled | None] = [None] * len(items)
        admitted: list[tuple[int, Envelope, str]] = []
        for index, (queue_agency, raw) in enumerate(items):
            try:
                envelope = self.registry.admit(raw, now)
                admitted.append((index, envelope, self._receiver(envelope, queue_agency, now)))
            except Rejected as rejected:
                results[index] = _dead(rejected)
        receipts: list[tuple[bytes, str]] = []
        if admitted:
            try:
                with translated(str(self.engine.url)), self.engine.begin() as connection:
                    for index, envelope, receiver in admitted:
                        try:
                            if envelope.service is Service.RECEIPT:
                                self._acknowledge(connection, envelope, now)
                            else:
                                receipt = self._record(connection, envelope, receiver, now)
                                receipts.append((receipt, envelope.from_agency))
                        except Rejected as rejected:
                            results[index] = _dead(rejected)
                        else:
                            results[index] = Handled(Outcome.DONE)
            except StoreError as error:  # the database is down: leave every message for later
                log.warning("messages left on the queue, the store failed: %s", error)
                return [Handled(Outcome.RETRY, str(error)) for _ in items]
        self.receipts.extend(receipts)  # committed: their receipts can go
        return [result or Handled(Outcome.RETRY) for result in results]

    def send_receipts(self) -> int:
        """Publish the receipts of the messages handled so far (after their acks, outside the
        consumer's callback); how many went out. One that fails is not kept: the sender
        publishes its message again, and that copy gets the original receipt."""
        pending, self.receipts = self.receipts, []
        if not pending:
            return 0
        sent = self.bus.publish_many(pending)
        for (_, sender), ok in zip(pending, sent, strict=True):
            if not ok:
                log.warning("a receipt to %s was not sent; the sender will try again", sender)
        return sum(sent)

    def _receiver(self, envelope: Envelope, queue_agency: str, now: dt.datetime) -> str:
        """The agency that takes the message: the addressee, or its successor."""
        day = now.astimezone(self.tz).date()
        try:
            holder = self.directory.successor_on(envelope.to_agency, day).code
        except UnknownAgency:
            holder = envelope.to_agency
        if queue_agency not in (envelope.to_agency, holder):
            raise Rejected(
                Reason.NOT_ALLOWED,
                f"message {envelope.message_id} is addressed to {envelope.to_agency}, "
                f"not to {queue_agency}",
            )
        if holder not in self.signers:
            raise Rejected(
                Reason.NOT_ALLOWED, f"this worker holds no signing key of agency {holder}"
            )
        return holder

    def _acknowledge(self, connection: Connection, envelope: Envelope, now: dt.datetime) -> None:
        """Record a receipt on the sender's outbox row, in one statement when all is well:
        only the agency the message went to (or its successor) can acknowledge it."""
        acknowledged = envelope.body.get("message_id")
        if not isinstance(acknowledged, str):
            raise Rejected(Reason.MALFORMED, "body.message_id: a receipt must name its message")
        box = t.outbox.c
        addressees = self._addressees(envelope.from_agency)
        done = connection.execute(
            _ACKNOWLEDGE, {"b_message": acknowledged, "addressees": addressees, "now": now}
        )
        if done.rowcount == 1:
            return
        row = connection.execute(
            select(box.to_agency).where(box.message_id == acknowledged)
        ).first()
        if row is None:
            raise Rejected(Reason.UNKNOWN_MESSAGE, f"no sent message {acknowledged}")
        raise Rejected(
            Reason.NOT_ALLOWED,
            f"agency {envelope.from_agency} cannot acknowledge a message sent to {row.to_agency}",
        )

    def _addressees(self, agency: str) -> list[str]:
        """``agency`` and the agencies whose work it took over."""
        found = self._held.get(agency)
        if found is None:
            found = self._held[agency] = [agency, *self.directory.predecessors(agency)]
        return found

    def _record(
        self, connection: Connection, envelope: Envelope, receiver: str, now: dt.datetime
    ) -> bytes:
        """Record the message once; the receipt to send (the original one for a copy).

        When all is well: check that the dossier exists, and insert into the inbox unless the
        message id is there already. If it is, a second look tells a copy (its original
        receipt) from a replay.
        """
        mine = digest(envelope)
        if connection.execute(_DOSSIER, {"code": envelope.dossier_code}).first() is None:
            raise Rejected(Reason.UNKNOWN_DOSSIER, f"no dossier {envelope.dossier_code} here")
        receipt = self._receipt(envelope, receiver, now)
        row = {
            "message_id": envelope.message_id,
            "from_agency": envelope.from_agency,
            "to_agency": receiver,
            "received_at": now,
            "receipt": receipt.model_dump(mode="json"),
            "dossier_code": envelope.dossier_code,
            "service": envelope.service.value,
            "digest": mine,
        }
        if connection.execute(_insert_once(connection.dialect.name), row).first() is not None:
            return receipt.to_json()
        known = self._known(connection, envelope.message_id, mine)
        if known is None:  # cannot be: the insert found the id taken
            raise Rejected(Reason.REPLAY, f"message id {envelope.message_id} is taken")
        return known

    @staticmethod
    def _known(connection: Connection, message_id: str, mine: str) -> bytes | None:
        """The stored receipt of an exact copy; :class:`Rejected` for a reused id."""
        row = connection.execute(
            select(t.inbox.c.digest, t.inbox.c.receipt).where(t.inbox.c.message_id == message_id)
        ).first()
        if row is None:
            return None
        if row.digest != mine:
            raise Rejected(
                Reason.REPLAY,
                f"message id {message_id} was already received with other content",
            )
        return Envelope.model_validate(row.receipt).to_json()

    def _receipt(self, envelope: Envelope, receiver: str, now: dt.datetime) -> Envelope:
        signer = self.signers[receiver]
        draft = Envelope.draft(
            message_id=hashlib.sha256(f"receipt/{envelope.message_id}".encode()).hexdigest()[:32],
            from_agency=receiver,
            to_agency=envelope.from_agency,
            service=Service.RECEIPT,
            dossier_code=envelope.dossier_code,
            step=envelope.step,
            created=now,
            ttl=self.ttl,
            key_id=signer.key_id,
            body={
                "message_id": envelope.message_id,
                "body_hash": envelope.body_hash,
                "received_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            },
        )
        return signer.sign(draft)
