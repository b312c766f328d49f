"""A new SQLite store file gets 2 KiB pages (each commit writes every page it changed whole, so
smaller pages make cheaper writes); an existing file keeps the pages it has, and works."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import func, insert, select

from adapters.store import tables as t
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from tests.integration.conftest import SECRET, sqlite_store


def _file(path: Path) -> tuple[int, str, str]:
    """(page size, journal mode, integrity check) of the database file at ``path``."""
    reader = sqlite3.connect(path)
    try:
        return (
            reader.execute("PRAGMA page_size").fetchone()[0],
            reader.execute("PRAGMA journal_mode").fetchone()[0],
            reader.execute("PRAGMA integrity_check").fetchone()[0],
        )
    finally:
        reader.close()


def _write_and_count(store: SqlStore) -> int:
    row = {"agency": "000.00.71.H26", "day": dt.date(2026, 3, 2), "last": 1}
    with store.engine.begin() as connection:
        connection.execute(insert(t.dossier_sequences), row)
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(t.dossier_sequences)) or 0)


def test_a_new_store_file_has_2_kib_pages_and_a_write_ahead_log(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    try:
        assert _write_and_count(store) == 1
    finally:
        store.close()
    assert _file(tmp_path / "store.sqlite3") == (2048, "wal", "ok")


def test_an_existing_file_keeps_its_pages_and_works(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite3"
    older = sqlite3.connect(path)  # as an earlier version made it: SQLite's default 4 KiB pages
    older.execute("PRAGMA page_size=4096")
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
    older.execute("INSERT INTO kept VALUES (1)")
    older.commit()
    older.close()

    store = SqlStore(f"sqlite:///{path}", Keyring(SECRET))
    try:
        store.upgrade()
        assert _write_and_count(store) == 1
    finally:
        store.close()
    assert _file(path) == (4096, "wal", "ok")
    reader = sqlite3.connect(path)
    try:
        assert reader.execute("SELECT id FROM kept").fetchall() == [(1,)]
    finally:
        reader.close()
