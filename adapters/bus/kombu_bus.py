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
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.message import Message
from kombu.messaging import Consumer, Producer

from adapters.bus.sqltransport import register
from workflow.ports import Bus, Handled, Outcome

__all__ = ["Handled", "KombuBus", "Outcome"]

REASON_HEADER = "x-lienthong-reason"
CONFIRM_TIMEOUT = 10.0  # seconds to wait for the broker's confirms of one batch

log = logging.getLogger(__name__)

#: a message to send: body, exchange, routing key (the agency), headers
_Outgoing = tuple[bytes, Exchange, str, dict[str, str]]


class BusError(Exception):
    """The broker did not take a message; send it again later."""


class _Publisher:
    """One channel for publishing. On RabbitMQ it is in publisher-confirm mode: a batch is
    written at once and the broker's acks (one may cover many messages) are awaited once."""

    def __init__(self, connection: Connection, *, confirm: bool) -> None:
        self.connection = connection
        self.channel = connection.channel()
        self.producer = Producer(self.channel)
        self.declared: set[tuple[str, str]] = set()
        self.confirm = confirm
        self.tags = 0  # delivery tags the broker numbers from 1 on this channel
        self.waiting: set[int] = set()
        self.refused: set[int] = set()
        if confirm:
            self.channel.confirm_select()
            self.channel.events["basic_ack"].add(self._acked)
            self.channel.events["basic_nack"].add(self._nacked)

    def _settled(self, tag: int, multiple: bool) -> set[int]:
        done = {t for t in self.waiting if t <= tag} if multiple else {tag} & self.waiting
        self.waiting -= done
        return done

    def _acked(self, tag: int, multiple: bool) -> None:
        self._settled(tag, multiple)

    def _nacked(self, tag: int, multiple: bool) -> None:
        self.refused |= self._settled(tag, multiple)

    def send(self, outgoing: list[_Outgoing], bus: KombuBus) -> list[bool]:
        tags = []
        for raw, exchange, key, headers in outgoing:
            self._declare(bus, exchange, key)
            self.producer.publish(
                raw,
                exchange=exchange,
                routing_key=key,
                delivery_mode=2,  # persistent
                content_type="application/json",
                content_encoding="utf-8",
                headers=headers,
            )
            if self.confirm:
                self.tags += 1
                self.waiting.add(self.tags)
                tags.append(self.tags)
        if not self.confirm:  # the embedded transport has committed each one
            return [True] * len(outgoing)
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while self.waiting.intersection(tags) and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
        confirmed = [tag not in self.waiting and tag not in self.refused for tag in tags]
        self.waiting.difference_update(tags)  # a late ack of these changes nothing
        self.refused.difference_update(tags)
        return confirmed

    def _declare(self, bus: KombuBus, exchange: Exchange, key: str) -> None:
        """Declare the queues behind (exchange, agency) once on this channel."""
        if (exchange.name, key) in self.declared:
            return
        queues = [bus.dead_queue(key)]
        if exchange.name == bus.exchange.name:
            queues.append(bus.queue(key))
        for queue in queues:
            queue.bind(self.channel).declare()
        self.declared.add((exchange.name, key))


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
        options: dict[str, Any] = {}
        if visibility_timeout is not None and not self.amqp:
            options["visibility_timeout"] = visibility_timeout
        self._options = options
        self.connection = Connection(url, transport_options=options)
        self.reconnects = 0
        self._publishing: _Publisher | None = None
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
        self._publishing = None
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
        if not self.publish_many([(raw, to_agency)])[0]:
            raise BusError(f"the message to agency {to_agency} was not confirmed by the broker")

    def publish_many(self, messages: Sequence[tuple[bytes, str]]) -> list[bool]:
        """Publish envelopes ``(raw, to_agency)``, persistently; on RabbitMQ, wait once for the
        broker's confirms of the whole batch. For each, whether the broker holds it: a message
        not confirmed (refused, timed out, connection lost) is ``False``, to be sent again."""
        return self._send_many([(raw, self.exchange, agency, {}) for raw, agency in messages])

    def dead_letter(self, raw: bytes, agency: str, reason: str) -> None:
        """Put a message in the agency's dead-letter queue with the reason it was rejected."""
        if not self._send_many([(raw, self.dead_exchange, agency, {REASON_HEADER: reason})])[0]:
            raise BusError(f"the dead letter for agency {agency} was not confirmed by the broker")

    def _send_many(self, outgoing: list[_Outgoing]) -> list[bool]:
        """Send with one reconnection on a lost connection; see :meth:`publish_many`."""
        sent = [False] * len(outgoing)
        for _ in range(2):
            todo = [index for index, done in enumerate(sent) if not done]
            if not todo:
                break
            try:
                publisher = self._publisher()
                confirmed = publisher.send([outgoing[index] for index in todo], self)
            except self._lost() as error:
                log.warning("publishing failed (%s); reconnecting", error)
                self._reconnect()
                continue
            for index, ok in zip(todo, confirmed, strict=True):
                sent[index] = ok
        return sent

    def _publisher(self) -> _Publisher:
        """The publishing channel of the live connection (in confirm mode on RabbitMQ)."""
        connection = self._live()
        if self._publishing is None or self._publishing.connection is not connection:
            self._publishing = _Publisher(connection, confirm=self.amqp)
        return self._publishing

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
