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
from dataclasses import dataclass
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


@dataclass(slots=True)
class _Subscription:
    """Consumers kept on a connection, and the messages received but not yet handled."""

    connection: Connection
    consumers: list[Consumer]
    pending: list[tuple[str, bytes, Message]]


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
        self._subscriptions: dict[tuple[str, ...], _Subscription] = {}
        self.exchange = Exchange(f"{prefix}.agencies", type="direct", durable=True)
        self.dead_exchange = Exchange(f"{prefix}.dead", type="direct", durable=True)

    def close(self) -> None:
        self.unsubscribe()
        self.connection.release()

    def unsubscribe(self) -> None:
        """Cancel the consumers kept between calls (before deleting their queues, say)."""
        self._drop_subscriptions()

    def _live(self) -> Connection:
        """The connection, replaced by a new one if it was closed or lost."""
        if self.connection._closed or (
            self.connection._connection is not None and not self.connection.connected
        ):
            self._reconnect()
        return self.connection

    def _reconnect(self) -> None:
        self._subscriptions.clear()  # their messages come back to the new consumers
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
        """Hand the agencies' messages to ``handler(agency, raw)`` one at a time until ``limit``
        are handled, or until no message came for ``idle`` seconds. Returns how many were
        handled. A worker of a successor agency consumes its predecessors' queues too."""

        def one_by_one(items: list[tuple[str, bytes]]) -> list[Handled]:
            return [handler(agency, raw) for agency, raw in items]

        return self.consume_batches(agencies, one_by_one, limit=limit, idle=idle, batch=1)

    def consume_batches(
        self,
        agencies: str | tuple[str, ...],
        handler: Callable[[list[tuple[str, bytes]]], list[Handled]],
        *,
        limit: int | None = None,
        idle: float = 1.0,
        batch: int = 50,
        linger: float = 0.005,
    ) -> int:
        """Like :meth:`consume`, but hand the handler up to ``batch`` messages at once (those
        that arrived within ``linger`` seconds of each other), so that it can record them in
        one transaction. Each message is settled after the handler returns, by its own
        decision: nothing is acknowledged before its effect is committed."""
        names = (agencies,) if isinstance(agencies, str) else agencies
        handled = 0
        subscription = self._subscription(names, batch)
        pending = subscription.pending

        def flush() -> None:
            nonlocal handled
            taken = pending[:]
            pending.clear()
            decisions = handler([(agency, raw) for agency, raw, _ in taken])
            for (agency, raw, message), decision in zip(taken, decisions, strict=True):
                self._settle(agency, raw, message, decision)
            handled += len(taken)

        connection = subscription.connection
        try:
            while limit is None or handled + len(pending) < limit:
                try:
                    connection.drain_events(timeout=linger if pending else idle)
                except TimeoutError:
                    if not pending:
                        break
                    flush()
                    continue
                if len(pending) >= batch:
                    flush()
            if pending:
                flush()
        except self._lost():  # unacknowledged messages come back; the next call reconnects
            self._reconnect()
        return handled

    def _subscription(self, names: tuple[str, ...], batch: int) -> _Subscription:
        """The consumers of these queues, started once and kept between calls (declaring and
        subscribing costs round trips); messages they receive wait in ``pending``."""
        connection = self._live()
        found = self._subscriptions.get(names)
        if found is not None and found.connection is connection:
            return found
        pending: list[tuple[str, bytes, Message]] = []

        def on_message_for(agency: str) -> Callable[[Message], None]:
            def on_message(message: Message) -> None:
                body = message.body
                raw = body if isinstance(body, bytes) else str(body).encode()
                pending.append((agency, raw, message))

            return on_message

        consumers = [
            Consumer(
                connection,
                queues=[self.queue(agency)],
                accept=["json"],
                on_message=on_message_for(agency),
                prefetch_count=max(batch, 10),
            )
            for agency in names
        ]
        for consumer in consumers:
            consumer.consume()
        found = self._subscriptions[names] = _Subscription(connection, consumers, pending)
        return found

    def _drop_subscriptions(self) -> None:
        for subscription in self._subscriptions.values():
            for consumer in subscription.consumers:
                with contextlib.suppress(Exception):
                    consumer.cancel()
        self._subscriptions.clear()

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
