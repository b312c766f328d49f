"""A durable kombu transport on SQLAlchemy: the embedded queue, on SQLite or any SQL database.

kombu's stock ``sqla+`` transport marks a message invisible when it is delivered and never makes
it visible again, so a consumer that dies before its ack loses it; ``memory://`` reaches one
process only. This transport keeps every message in a table until it is acknowledged:

- delivering a message hides it for a *visibility timeout* (default 30 s); a consumer that dies
  before acking loses nothing: the message reappears when the timeout expires;
- an ack deletes the row; a reject deletes it, or with ``requeue`` shows it again at once;
- unacknowledged messages of a channel that closes cleanly are shown again at once;
- database errors are re-raised (they are kombu ``connection_errors``), never swallowed.

Select it by URL: ``lienthong+sqlite:///var/bus.sqlite3`` (or ``lienthong+postgresql://...``)
after :func:`register` has added the ``lienthong`` alias to kombu.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, virtual
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    exc,
    func,
    select,
    update,
)

from adapters.store.database import make_engine

ALIAS = "lienthong"
metadata = MetaData()
messages = Table(
    "bus_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("visible_at", Float, nullable=False),  # epoch seconds
    Column("deliveries", Integer, nullable=False, default=0),
    Index("ix_bus_messages_queue_visible", "queue", "visible_at", "id"),
)
_ROW = "lienthong_row"
_engines: dict[str, Engine] = {}


def register() -> None:
    """Make ``lienthong+<database url>`` select this transport in kombu."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"


def _engine(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        engine = make_engine(url)
        metadata.create_all(engine, checkfirst=True)
        _engines[url] = engine
    return engine


class Channel(virtual.Channel):
    """One kombu channel on the messages table."""

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        options = connection.client.transport_options
        self.visibility_timeout = float(options.get("visibility_timeout", 30.0))
        url = connection.client.hostname or ""
        backend = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"the {ALIAS} transport needs a database URL, e.g. {ALIAS}+sqlite:///var/bus.sqlite3"
            )
        self.engine = _engine(url)

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        row = {
            "queue": queue,
            "payload": json.dumps(message),
            "visible_at": time.time(),
            "deliveries": 0,
        }
        with self.engine.begin() as connection:
            connection.execute(messages.insert(), [row])

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        return self._take([queue])[0]

    def _get_many(self, queues: Iterable[str], timeout: float | None = None) -> None:
        """One query for every queue consumed (kombu asks each queue in turn otherwise: an idle
        worker of many agencies would query the store once per queue per poll)."""
        payload, queue = self._take(list(queues))
        self.connection._deliver(payload, queue)

    def _take(self, queues: list[str]) -> tuple[dict[str, Any], str]:
        """The oldest visible message of ``queues``, hidden for the visibility timeout; Empty
        if there is none."""
        if not queues:
            raise Empty()
        now = time.time()
        statement = (
            select(messages.c.id, messages.c.queue, messages.c.payload)
            .where(messages.c.queue.in_(queues), messages.c.visible_at <= now)
            .order_by(messages.c.id)
            .limit(1)
        )
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            found = connection.execute(statement).first()
            if found is None:
                raise Empty()
            connection.execute(
                update(messages)
                .where(messages.c.id == found.id)
                .values(
                    visible_at=now + self.visibility_timeout, deliveries=messages.c.deliveries + 1
                )
            )
        payload: dict[str, Any] = json.loads(found.payload)
        payload.setdefault("properties", {}).setdefault("delivery_info", {})[_ROW] = found.id
        return payload, str(found.queue)

    def _size(self, queue: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).where(
                        messages.c.queue == queue, messages.c.visible_at <= time.time()
                    )
                ).scalar_one()
            )

    def _purge(self, queue: str) -> int:
        with self.engine.begin() as connection:
            return int(
                connection.execute(delete(messages).where(messages.c.queue == queue)).rowcount
            )

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        super()._delete(queue, *args, **kwargs)
        self._purge(queue)

    def _row(self, delivery_tag: Any) -> int | None:
        try:
            return int(self.qos.get(delivery_tag).delivery_info[_ROW])
        except KeyError:
            return None

    def _show(self, row: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(messages).where(messages.c.id == row).values(visible_at=time.time())
            )

    def _drop(self, row: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(messages).where(messages.c.id == row))

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        row = self._row(delivery_tag)
        if row is not None:
            self._drop(row)
        super().basic_ack(delivery_tag, multiple)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        row = self._row(delivery_tag)
        if row is not None:
            (self._show if requeue else self._drop)(row)
        self.qos._quick_ack(delivery_tag)  # the row is handled: never re-put it

    def _restore(self, message: Any) -> None:
        row = message.delivery_info.get(_ROW)
        if row is not None:
            self._show(int(row))  # the stored row comes back; nothing is published twice


class Transport(virtual.Transport):
    """kombu transport class for ``lienthong+<database url>``."""

    Channel = Channel
    can_parse_url = True
    default_port = 0  # type: ignore[assignment]
    driver_type = "sql"
    driver_name = "sqlalchemy"
    polling_interval = 0.05
    connection_errors = (  # type: ignore[assignment]
        *virtual.Transport.connection_errors,
        exc.OperationalError,
        exc.InterfaceError,
    )

    def driver_version(self) -> str:
        import sqlalchemy  # noqa: PLC0415

        return str(sqlalchemy.__version__)
