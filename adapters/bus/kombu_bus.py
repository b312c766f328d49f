"""The agencies' queues on kombu: RabbitMQ in production, the durable SQL transport embedded.

One durable queue per agency (``<prefix>.agency.<code>``) on a direct exchange, routed by the
agency code, and one dead-letter queue per agency (``<prefix>.dead.<code>``). Messages are JSON
envelopes (``application/json``; never pickle), published persistent. On RabbitMQ the agency
queues are quorum queues with a delivery limit that dead-letters a message redelivered too often,
and publishes wait for the broker's confirm. Consumers acknowledge late: only after the handler
has committed its effect.

Agency codes are routing keys and queue names; citizens' identity numbers never are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.message import Message
from kombu.messaging import Consumer, Producer

from adapters.bus.sqltransport import register

RETRY = {"max_retries": 5, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 2.0}
REASON_HEADER = "x-lienthong-reason"


class Outcome(StrEnum):
    """What a handler decided about one message."""

    DONE = "done"  # effect committed (or a duplicate): acknowledge
    DEAD = "dead"  # rejected for a reason: to the dead-letter queue, then acknowledge
    RETRY = "retry"  # failed for now: put back, delivered again later


@dataclass(frozen=True, slots=True)
class Handled:
    outcome: Outcome
    reason: str = ""


Handler = Callable[[bytes], Handled]


class KombuBus:
    """Publish to and consume from agencies' queues over one kombu connection URL."""

    def __init__(self, url: str, *, prefix: str = "lienthong", delivery_limit: int = 5) -> None:
        register()
        self.url = url
        self.prefix = prefix
        self.delivery_limit = delivery_limit
        self.amqp = url.startswith(("amqp://", "amqps://", "pyamqp://"))
        options: dict[str, Any] = {"confirm_publish": True} if self.amqp else {}
        self.connection = Connection(url, transport_options=options)
        self.exchange = Exchange(f"{prefix}.agencies", type="direct", durable=True)
        self.dead_exchange = Exchange(f"{prefix}.dead", type="direct", durable=True)

    def close(self) -> None:
        self.connection.release()

    def queue(self, agency: str) -> Queue:
        """The agency's inbound queue."""
        arguments = None
        if self.amqp:
            arguments = {
                "x-queue-type": "quorum",
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dead_exchange.name,
                "x-dead-letter-routing-key": agency,
            }
        return Queue(
            f"{self.prefix}.agency.{agency}",
            self.exchange,
            routing_key=agency,
            durable=True,
            queue_arguments=arguments,
        )

    def dead_queue(self, agency: str) -> Queue:
        """Where the agency's rejected and undeliverable messages go, with their reason."""
        return Queue(
            f"{self.prefix}.dead.{agency}", self.dead_exchange, routing_key=agency, durable=True
        )

    def declare(self, agency: str) -> None:
        """Create the agency's queues (idempotent)."""
        with self.connection.channel() as channel:
            self.queue(agency).bind(channel).declare()
            self.dead_queue(agency).bind(channel).declare()

    def publish(self, raw: bytes, to_agency: str) -> None:
        """Publish one envelope (already serialised) to an agency, persistently, confirmed."""
        declare = [self.queue(to_agency), self.dead_queue(to_agency)]
        self._send(raw, self.exchange, to_agency, declare, {})

    def dead_letter(self, raw: bytes, agency: str, reason: str) -> None:
        """Put a message in the agency's dead-letter queue with the reason it was rejected."""
        declare = [self.dead_queue(agency)]
        self._send(raw, self.dead_exchange, agency, declare, {REASON_HEADER: reason})

    def _send(
        self,
        raw: bytes,
        exchange: Exchange,
        key: str,
        declare: list[Queue],
        headers: dict[str, str],
    ) -> None:
        Producer(self.connection).publish(
            raw,
            exchange=exchange,
            routing_key=key,
            delivery_mode=2,  # persistent
            content_type="application/json",
            content_encoding="utf-8",
            headers=headers,
            declare=declare,
            retry=True,
            retry_policy=RETRY,
        )

    def consume(
        self, agency: str, handler: Handler, *, limit: int | None = None, idle: float = 1.0
    ) -> int:
        """Hand the agency's messages to ``handler`` until ``limit`` are handled, or until no
        message came for ``idle`` seconds. Returns how many were handled."""
        handled = 0

        def on_message(message: Message) -> None:
            nonlocal handled
            body = message.body
            raw = body if isinstance(body, bytes) else str(body).encode()
            self._settle(agency, raw, message, handler(raw))
            handled += 1

        consumer = Consumer(
            self.connection,
            queues=[self.queue(agency)],
            accept=["json"],
            on_message=on_message,
            prefetch_count=10,
        )
        with consumer:
            while limit is None or handled < limit:
                try:
                    self.connection.drain_events(timeout=idle)
                except TimeoutError:
                    break
        return handled

    def _settle(self, agency: str, raw: bytes, message: Message, result: Handled) -> None:
        if result.outcome is Outcome.DEAD:
            self.dead_letter(raw, agency, result.reason)
            message.ack()
        elif result.outcome is Outcome.RETRY:
            message.requeue()
        else:
            message.ack()

    def dead_letters(self, agency: str, limit: int = 100) -> list[tuple[bytes, str]]:
        """Take up to ``limit`` dead letters of the agency: (message, reason)."""
        found: list[tuple[bytes, str]] = []
        with self.connection.SimpleQueue(self.dead_queue(agency)) as queue:
            while len(found) < limit:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    break
                body = message.body if isinstance(message.body, bytes) else message.body.encode()
                found.append((body, str((message.headers or {}).get(REASON_HEADER, ""))))
                message.ack()
        return found
