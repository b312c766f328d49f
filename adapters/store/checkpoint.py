"""An SQLite file's checkpoints, run on a thread of their own instead of in a writer's commit.

With the write-ahead log, a commit appends the pages it changed to the log; a checkpoint copies
the log's pages back into the database file, syncing the log before and the file after. By
default SQLite runs one in the commit that takes the log past ``wal_autocheckpoint`` pages, so
that one unit of work in thousands waits for the copy and both syncs (tens of milliseconds for
the 10,000 pages the store lets the log grow to; about 60 µs a step on average in the peer
benchmark, where the syncs blocked the writer 400 to 800 times a round).

:class:`Checkpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` from its own connection on its own
thread, as often as the log fills. A passive checkpoint takes no lock a writer or a reader
waits for: it copies what no reader still needs and leaves the rest for the next one, and the
first writer after a complete one starts the log again from its beginning. The connections'
``wal_autocheckpoint`` stays as the backstop: a commit checkpoints only if the thread has
fallen 10,000 pages behind (and then skips it, without waiting, while the thread is at it).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from adapters.store.database import unpooled_sqlite_connection
from adapters.store.prepared import sqlite_file_pool

log = logging.getLogger(__name__)

#: the log pages one checkpoint should find: the wait between checkpoints halves while they find
#: more and doubles while they find less than a quarter, between the two bounds (seconds)
TARGET_PAGES = 2_000
SHORTEST_WAIT = 0.02
LONGEST_WAIT = 1.0

CHECKPOINT_MODES = ("PASSIVE", "FULL", "RESTART", "TRUNCATE")


class Checkpointer:
    """Checkpoints of one SQLite database file, on a daemon thread (started by :meth:`start`).

    The thread connects when the file's log first exists (a database no one has written to is
    neither opened nor created), and again after an error, which it logs and outlives.
    :meth:`checkpoint` runs one at once, :meth:`paused` keeps the thread from running one, and
    :meth:`close` stops the thread and closes its connection.
    """

    def __init__(self, database: str | Path, connect: Callable[[], Any], wait: float = 0.1) -> None:
        """``connect`` opens a DB-API connection to ``database`` that may be used from another
        thread; ``wait``: the first wait between checkpoints, in seconds."""
        self.database = Path(database)
        self._wal = self.database.with_name(self.database.name + "-wal")
        self._connect = connect
        self._wait = wait
        self._connection: Any = None
        # one checkpoint at a time, and the connection's owner; reentrant: the store's finalizer may
        # run in this thread, from a garbage collection that a checkpoint's allocation started
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: str | None = None  # the last error logged (each logged once in a row)

    @classmethod
    def of(cls, engine: Engine) -> Checkpointer | None:
        """The checkpointer of ``engine``'s database, or None unless it is an SQLite file (an
        in-memory database has no log; PostgreSQL checkpoints by itself)."""
        database = engine.url.database
        if not sqlite_file_pool(engine) or not database or database.startswith("file:"):
            return None  # (a ``file:`` URI names no plain path to find the log beside)
        # (not one of the pool's connections: the pool would count it as checked out for as
        # long as the thread holds it, and while it takes it, out of a pool a writer waits on)
        return cls(database, lambda: unpooled_sqlite_connection(engine))

    def start(self) -> None:
        """Start the thread (once)."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"checkpoint {self.database.name}", daemon=True
                )
                self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run one checkpoint now: (1 if it could not finish because another connection was
        using the log, else 0; pages in the log; pages copied back). ``RESTART`` and
        ``TRUNCATE`` also start the log again."""
        if mode not in CHECKPOINT_MODES:
            raise ValueError(
                f"unknown checkpoint mode {mode!r}: use one of {', '.join(CHECKPOINT_MODES)}"
            )
        with self._lock:
            return self._checkpoint(mode)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No checkpoint of the thread's runs inside this block (one under way finishes first)."""
        with self._lock:
            yield

    def close(self) -> None:
        """Stop the thread, wait for a checkpoint under way, and close the connection."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            self._disconnect()

    def _run(self) -> None:
        wait = self._wait
        seen = copied = 0  # the log's pages and those copied back, at the last checkpoint
        while not self._stop.wait(wait):
            with self._lock:
                if self._stop.is_set():
                    break
                try:
                    if not self._wal.exists():  # nothing written yet, or the last one closed
                        self._disconnect()
                        continue
                    _, pages, done = self._checkpoint("PASSIVE")
                except Exception as error:  # logged; the next round tries again
                    self._failed(error)
                    self._disconnect()
                    continue
            self._failure = None
            fresh = pages - (copied if pages >= seen else 0)  # (a smaller log was started again)
            seen, copied = pages, done
            if fresh > TARGET_PAGES:
                wait = max(SHORTEST_WAIT, wait / 2)
            elif fresh < TARGET_PAGES // 4:
                wait = min(LONGEST_WAIT, wait * 2)

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        if self._connection is None:
            self._connection = self._connect()
        cursor = self._connection.execute(f"PRAGMA wal_checkpoint({mode})")
        try:
            busy, pages, copied = cursor.fetchone()
        finally:
            cursor.close()
        return int(busy), int(pages), int(copied)

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _failed(self, error: BaseException) -> None:
        text = f"{type(error).__name__}: {error}"
        if text != self._failure:
            self._failure = text
            log.warning(
                "checkpoint of %s failed (%s); the log keeps every page and the next "
                "checkpoint tries again. Check that the file is an intact SQLite database "
                "on a writable disk.",
                self.database,
                text,
            )
