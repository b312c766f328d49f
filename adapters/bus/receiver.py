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

from sqlalchemy import Engine, exc, insert, select

from adapters.bus.relay import Relay
from adapters.bus.signing import KeyRegistry, Reason, Rejected, Signer
from adapters.store import tables as t
from adapters.store.database import translated
from workflow.agencies import AgencyDirectory
from workflow.errors import StoreError, UnknownAgency
from workflow.messages import Envelope, Service
from workflow.ports import Bus, Clock, Handled, Outcome

log = logging.getLogger(__name__)


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
        relay: Relay,
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
        self.relay = relay
        self.ttl = ttl
        self.tz = tz
        self.receipts: list[tuple[bytes, str]] = []  # to send once the consumer returns

    def handle(self, queue_agency: str, raw: bytes) -> Handled:
        """Decide one message from ``queue_agency``'s queue (see the module's docstring)."""
        now = self.clock.now()
        try:
            envelope = self.registry.admit(raw, now)
            receiver = self._receiver(envelope, queue_agency, now)
            if envelope.service is Service.RECEIPT:
                self._acknowledge(envelope, now)
                return Handled(Outcome.DONE)
            receipt = self._record(envelope, receiver, now)
        except Rejected as rejected:
            log.warning("message rejected to the dead-letter queue: %s", rejected)
            return Handled(Outcome.DEAD, f"{rejected.reason.value}: {rejected.detail}")
        except StoreError as error:  # the database is down: leave the message for later
            log.warning("message left on the queue, the store failed: %s", error)
            return Handled(Outcome.RETRY, str(error))
        self.receipts.append((receipt, envelope.from_agency))
        return Handled(Outcome.DONE)

    def send_receipts(self) -> int:
        """Publish the receipts of the messages handled so far (after their acks, outside the
        consumer's callback); how many went out. One that fails is not kept: the sender
        publishes its message again, and that copy gets the original receipt."""
        sent = 0
        pending, self.receipts = self.receipts, []
        for raw, sender in pending:
            try:
                self.bus.publish(raw, sender)
            except Exception as error:
                log.warning("a receipt to %s was not sent (%s)", sender, error)
            else:
                sent += 1
        return sent

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

    def _acknowledge(self, envelope: Envelope, now: dt.datetime) -> None:
        acknowledged = envelope.body.get("message_id")
        if not isinstance(acknowledged, str):
            raise Rejected(Reason.MALFORMED, "body.message_id: a receipt must name its message")
        with translated(str(self.engine.url)), self.engine.connect() as connection:
            row = connection.execute(
                select(t.outbox.c.to_agency).where(t.outbox.c.message_id == acknowledged)
            ).first()
        if row is None:
            raise Rejected(Reason.UNKNOWN_MESSAGE, f"no sent message {acknowledged}")
        addressee = str(row.to_agency)
        day = now.astimezone(self.tz).date()
        try:
            holder = self.directory.successor_on(addressee, day).code
        except UnknownAgency:
            holder = addressee
        if envelope.from_agency not in (addressee, holder):
            raise Rejected(
                Reason.NOT_ALLOWED,
                f"agency {envelope.from_agency} cannot acknowledge a message sent to {addressee}",
            )
        with translated(str(self.engine.url)):
            self.relay.acknowledge(acknowledged)

    def _record(self, envelope: Envelope, receiver: str, now: dt.datetime) -> bytes:
        """Record the message once; the receipt to send (the original one for a copy)."""
        mine = digest(envelope)
        with translated(str(self.engine.url)):
            with self.engine.begin() as connection:
                known = self._known(connection, envelope.message_id, mine)
                if known is not None:
                    return known
                exists = connection.execute(
                    select(t.dossiers.c.code).where(t.dossiers.c.code == envelope.dossier_code)
                ).first()
                if exists is None:
                    raise Rejected(
                        Reason.UNKNOWN_DOSSIER, f"no dossier {envelope.dossier_code} here"
                    )
                receipt = self._receipt(envelope, receiver, now)
                try:
                    with connection.begin_nested():
                        connection.execute(
                            insert(t.inbox),
                            {
                                "message_id": envelope.message_id,
                                "from_agency": envelope.from_agency,
                                "to_agency": receiver,
                                "received_at": now,
                                "receipt": receipt.model_dump(mode="json"),
                                "dossier_code": envelope.dossier_code,
                                "service": envelope.service.value,
                                "digest": mine,
                            },
                        )
                except exc.IntegrityError:  # a copy handled by another worker meanwhile
                    pass
                else:
                    return receipt.to_json()
            with self.engine.connect() as connection:
                known = self._known(connection, envelope.message_id, mine)
        if known is None:
            raise Rejected(Reason.MALFORMED, f"message {envelope.message_id} could not be recorded")
        return known

    @staticmethod
    def _known(connection: Any, message_id: str, mine: str) -> bytes | None:
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
