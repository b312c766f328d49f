"""An SQLite store's checkpoints run on a thread of their own: what a writer commits reaches the
database file without any writer checkpointing, the thread stops with the store, and a failing
checkpoint is logged and retried, never raised into a writer."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, insert

from adapters.store import tables as t
from adapters.store.checkpoint import Checkpointer
from adapters.store.database import make_engine
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from tests.integration.conftest import sqlite_store

SECRET = bytes(range(32))


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _in_the_file(store: SqlStore, tmp_path: Path, agency: str) -> bool:
    """Whether the database file itself (not its log) holds ``agency``'s sequence row: read from
    a copy of the file alone, taken while no checkpoint runs."""
    assert store.checkpointer is not None
    copy = tmp_path / "copy.sqlite3"
    with store.checkpointer.paused():
        shutil.copyfile(store.checkpointer.database, copy)
    reader = sqlite3.connect(copy)
    try:
        rows = reader.execute(
            "SELECT count(*) FROM dossier_sequences WHERE agency = ?", (agency,)
        ).fetchone()
    except sqlite3.OperationalError:  # not even the schema is in the file yet
        return False
    finally:
        reader.close()
        copy.unlink()
    return bool(rows[0])


def test_what_a_writer_commits_reaches_the_file_without_a_checkpoint_of_its_own(
    tmp_path: Path,
) -> None:
    store = sqlite_store(tmp_path)
    try:
        assert store.checkpointer is not None and store.checkpointer.running
        row = {"agency": "000.00.71.H26", "day": dt.date(2026, 3, 2), "last": 1}
        with store.engine.begin() as connection:
            connection.execute(insert(t.dossier_sequences), row)
        # one commit is far from the 10,000 log pages at which a commit would checkpoint
        assert _eventually(lambda: _in_the_file(store, tmp_path, "000.00.71.H26"))
        busy, pages, copied = store.checkpointer.checkpoint("RESTART")
        assert busy == 0 and pages == copied
    finally:
        store.close()


def test_the_thread_never_takes_a_connection_from_the_engines_pool(tmp_path: Path) -> None:
    """A connection the thread took from the pool would count as checked out while the thread
    opened it, and would take a place that a writer waits for."""
    store = sqlite_store(tmp_path)
    checkouts: list[object] = []
    event.listen(store.engine, "checkout", lambda dbapi, record, proxy: checkouts.append(dbapi))
    another = Checkpointer.of(store.engine)  # one connecting after the listener, unlike the store's
    assert another is not None
    try:
        with store.engine.begin() as connection:
            connection.execute(
                insert(t.dossier_sequences),
                {"agency": "000.00.71.H26", "day": dt.date(2026, 3, 2), "last": 1},
            )
        writes = len(checkouts)
        assert writes == 1
        own = store.checkpointer
        assert own is not None
        with own.paused():  # (a checkpoint of the store's own thread would make this one busy)
            assert another.checkpoint("PASSIVE")[0] == 0  # it connected, and checkpoints
        assert len(checkouts) == writes and store.engine.pool.checkedout() == 0
        pragmas = ("journal_mode", "busy_timeout", "foreign_keys")  # the engine's own
        assert [another._connection.execute(f"PRAGMA {p}").fetchone()[0] for p in pragmas] == [
            "wal",
            30_000,
            1,
        ]
    finally:
        another.close()
        store.close()


def test_close_stops_the_thread_and_so_does_dropping_the_store(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "closed")
    checkpointer = store.checkpointer
    assert checkpointer is not None and checkpointer.running
    store.close()
    assert not checkpointer.running
    store.close()  # twice is harmless

    dropped = sqlite_store(tmp_path / "dropped")
    checkpointer = dropped.checkpointer
    assert checkpointer is not None and checkpointer.running
    del dropped
    gc.collect()
    assert _eventually(lambda: not checkpointer.running)


def test_only_an_sqlite_file_has_a_checkpointer(tmp_path: Path) -> None:
    memory = SqlStore("sqlite://", Keyring(SECRET))
    try:
        assert memory.checkpointer is None
    finally:
        memory.close()
    postgres = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # never connects
    try:
        assert Checkpointer.of(postgres) is None
    finally:
        postgres.dispose()
    with pytest.raises(ValueError, match="unknown checkpoint mode 'SOON': use one of PASSIVE"):
        Checkpointer(tmp_path / "x.sqlite3", sqlite3.connect).checkpoint("SOON")


def test_a_failing_checkpoint_is_logged_once_and_the_thread_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not a database, with a log beside it: every round fails, one warning
    names the file and what to check; once the file is a database the checkpoints succeed."""
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"not an SQLite database " * 200)
    path.with_name(path.name + "-wal").write_bytes(b"")
    checkpointer = Checkpointer(
        path, lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False), 0.01
    )
    caplog.set_level(logging.WARNING, logger="adapters.store.checkpoint")
    checkpointer.start()
    try:
        assert _eventually(lambda: len(caplog.records) > 0)
        time.sleep(0.1)  # more failing rounds (the wait doubles from 10 ms: at least three)
        assert len(caplog.records) == 1
        message = caplog.records[0].getMessage()
        assert str(path) in message and "not a database" in message
        assert "intact SQLite database on a writable disk" in message
        assert checkpointer.running

        with checkpointer.paused():  # repaired: a database in WAL mode with a page in its log
            path.unlink()
            repaired = sqlite3.connect(path, isolation_level=None)
            repaired.execute("PRAGMA journal_mode=WAL")
            repaired.execute("CREATE TABLE t (x)")
            repaired.execute("INSERT INTO t VALUES (1)")
        try:
            assert checkpointer.checkpoint()[0] == 0
        finally:
            repaired.close()
        assert checkpointer.running
    finally:
        checkpointer.close()
    assert not checkpointer.running
