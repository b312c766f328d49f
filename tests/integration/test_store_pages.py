"""A new SQLite store file gets 2 KiB pages (each commit writes every page it changed whole, so
smaller pages make cheaper writes); an existing file keeps the pages it has, and works, until
``adapters.store.pages.convert`` rewrites it, which changes nothing when it cannot."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from adapters.store import pages
from adapters.store import tables as t
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from procedures import load_catalogue
from tests.conftest import VN, FixedClock
from tests.integration.conftest import SECRET, sqlite_store
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import StoreError
from workflow.services import Act, Submit, act, submit


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


# -- rewriting an existing file at another page size (``lienthong db page-size``) --------------

OFFICER = Actor("officer", "000.00.71.H26")


def _older_store(path: Path, dossiers: int) -> list[str]:
    """A store file as an earlier version made it (4 KiB pages, the log), holding ``dossiers``
    accepted dossiers; their codes."""
    made = sqlite3.connect(path)
    made.execute("PRAGMA page_size=4096")
    made.execute("PRAGMA journal_mode=WAL")
    made.close()
    store = SqlStore(f"sqlite:///{path}", Keyring(SECRET))
    engine = Engine(load_catalogue(), FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN)))
    try:
        store.upgrade()
        codes = []
        for _ in range(dossiers):
            command = Submit(
                "1.001193", "counter", "R", OFFICER, documents=("declaration", "birth_certificate")
            )
            code = submit(command, store.unit_of_work(), engine).code
            act(Act(code, "accept", OFFICER), store.unit_of_work(), engine)
            codes.append(code)
        return codes
    finally:
        store.close()


def test_an_older_file_is_rewritten_at_2_kib_with_everything_in_it(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite3"
    codes = _older_store(path, 40)
    assert _file(path) == (4096, "wal", "ok")

    report = pages.convert(path, 2048)

    assert (report.path, report.before, report.after, report.changed) == (path, 4096, 2048, True)
    assert report.bytes_before > 0 and report.bytes_after > 0
    assert _file(path) == (2048, "wal", "ok")
    store = SqlStore(f"sqlite:///{path}", Keyring(SECRET))
    engine = Engine(load_catalogue(), FixedClock(dt.datetime(2026, 3, 3, 9, tzinfo=VN)))
    try:
        with store.unit_of_work() as uow:
            states = {code: uow.dossiers.get(code).state for code in codes}
        assert states == dict.fromkeys(codes, "accepted")
        assert (store.verify().broken, store.verify().events) == (None, 80)
        act(Act(codes[0], "hand_over", OFFICER), store.unit_of_work(), engine)  # and it writes
    finally:
        store.close()
    assert _file(path) == (2048, "wal", "ok")


def test_a_file_at_the_size_already_is_left_alone(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    store.close()
    path = tmp_path / "store.sqlite3"
    written = path.stat().st_mtime_ns

    report = pages.convert(path, 2048)

    assert (report.before, report.after, report.changed) == (2048, 2048, False)
    assert path.stat().st_mtime_ns == written
    assert _file(path) == (2048, "wal", "ok")


def test_a_file_in_use_is_not_changed_and_the_error_says_what_to_stop(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite3"
    codes = _older_store(path, 3)
    store = SqlStore(f"sqlite:///{path}", Keyring(SECRET))  # a running service's store
    try:
        with store.unit_of_work() as uow:
            uow.dossiers.get(codes[0])
        with pytest.raises(StoreError, match=r"in use by another process .* stop `lienthong run`"):
            pages.convert(path, 2048)
        with store.unit_of_work() as uow:  # the service goes on
            assert uow.dossiers.get(codes[1]).state == "accepted"
    finally:
        store.close()
    assert _file(path) == (4096, "wal", "ok")


@pytest.mark.parametrize("size", [0, 1000, 3000, 256, 131072])
def test_a_size_sqlite_does_not_accept_is_refused_naming_it(tmp_path: Path, size: int) -> None:
    path = tmp_path / "older.sqlite3"
    _older_store(path, 1)
    with pytest.raises(
        StoreError, match=rf"^{size} is not a page size SQLite accepts: give a power"
    ):
        pages.convert(path, size)
    assert _file(path) == (4096, "wal", "ok")


def test_only_an_existing_sqlite_file_has_a_page_size_to_change(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"is not an SQLite store.*PostgreSQL keeps 8 KiB") as no:
        pages.sqlite_file("postgresql+psycopg://postgres:secret@127.0.0.1/test")
    assert "secret" not in str(no.value)  # the URL's password is not shown
    with pytest.raises(StoreError, match="names no database file"):
        pages.sqlite_file("sqlite://")
    with pytest.raises(StoreError, match=r"there is no store file at .*missing\.sqlite3: check"):
        pages.sqlite_file(f"sqlite:///{tmp_path / 'missing.sqlite3'}")
    assert not (tmp_path / "missing.sqlite3").exists()  # and none was created
    assert pages.room_needed(1000) == 2000


def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database, but a file someone pointed the store at\n" * 100)
    for call in (lambda: pages.page_size(path), lambda: pages.convert(path, 2048)):
        with pytest.raises(StoreError, match=r"notes\.sqlite3 is not an SQLite database \("):
            call()
    assert path.read_text().startswith("not a database, but a file")
