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

import contextlib
from collections.abc import Callable
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.message import Message
from kombu.messaging import Consumer, Producer

from adapters.bus.sqltransport import register
from workflow.ports import Bus, Handled, Outcome

__all__ = ["Handled", "KombuBus", "Outcome"]

RETRY = {"max_retries": 5, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 2.0}
REASON_HEADER = "x-lienthong-reason"


class KombuBus(Bus):
    """Publish to and consume from agencies' queues over one kombu connection URL."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "lienthong",
        delivery_limit: int = 5,
        visibility_timeout: float | None = None,
    ) -> None:
        """``visibility_timeout`` (embedded transport): seconds before a message delivered to
        a consumer that never acknowledged it is delivered again (default 30)."""
        register()
        self.url = url
        self.prefix = prefix
        self.delivery_limit = delivery_limit
        self.amqp = url.startswith(("amqp://", "amqps://", "pyamqp://"))
        options: dict[str, Any] = {"confirm_publish": True} if self.amqp else {}
        if visibility_timeout is not None and not self.amqp:
            options["visibility_timeout"] = visibility_timeout
        self._options = options
        self.connection = Connection(url, transport_options=options)
        self.reconnects = 0
        self.exchange = Exchange(f"{prefix}.agencies", type="direct", durable=True)
        self.dead_exchange = Exchange(f"{prefix}.dead", type="direct", durable=True)

    def close(self) -> None:
        self.connection.release()

    def _live(self) -> Connection:
        """The connection, replaced by a new one if it was closed or lost."""
        if self.connection._closed or (
            self.connection._connection is not None and not self.connection.connected
        ):
            self._reconnect()
        return self.connection

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.release()
        self.connection = Connection(self.url, transport_options=self._options)
        self.reconnects += 1

    def _lost(self) -> tuple[type[BaseException], ...]:
        return (
            *self.connection.recoverable_connection_errors,
            *self.connection.recoverable_channel_errors,
            *self.connection.connection_errors,
            OSError,
        )

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
        with self._live().channel() as channel:
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
        Producer(self._live()).publish(
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
        self,
        agencies: str | tuple[str, ...],
        handler: Callable[[str, bytes], Handled],
        *,
        limit: int | None = None,
        idle: float = 1.0,
    ) -> int:
        """Hand the messages of the agencies' queues to ``handler(agency, raw)`` until ``limit``
        are handled, or until no message came for ``idle`` seconds. Returns how many were
        handled. A worker of a successor agency consumes its predecessors' queues too."""
        names = (agencies,) if isinstance(agencies, str) else agencies
        handled = 0

        def on_message_for(agency: str) -> Callable[[Message], None]:
            def on_message(message: Message) -> None:
                nonlocal handled
                body = message.body
                raw = body if isinstance(body, bytes) else str(body).encode()
                self._settle(agency, raw, message, handler(agency, raw))
                handled += 1

            return on_message

        connection = self._live()
        consumers = [
            Consumer(
                connection,
                queues=[self.queue(agency)],
                accept=["json"],
                on_message=on_message_for(agency),
                prefetch_count=10,
            )
            for agency in names
        ]
        try:
            with contextlib.ExitStack() as stack:
                for consumer in consumers:
                    stack.enter_context(consumer)
                while limit is None or handled < limit:
                    try:
                        connection.drain_events(timeout=idle)
                    except TimeoutError:
                        break
        except self._lost():  # unacknowledged messages come back; the next call reconnects
            self._reconnect()
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
        """Take up to ``limit`` dead letters of the agency: (message, reason). The bodies are
        returned as they came, even when they are not valid JSON."""
        found: list[tuple[bytes, str]] = []
        with self._live().channel() as channel:
            queue = self.dead_queue(agency).bind(channel)
            queue.declare()
            while len(found) < limit:
                message = queue.get(no_ack=False)
                if message is None:
                    break
                body = message.body if isinstance(message.body, bytes) else message.body.encode()
                found.append((body, str((message.headers or {}).get(REASON_HEADER, ""))))
                message.ack()
        return found
