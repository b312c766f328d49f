"""The page size of a store's SQLite file: read it, and rewrite the file at another one.

A new file gets the store's page size (``database.SQLITE_PRAGMAS``: 2 KiB); a file made before
keeps its own, since SQLite fixes it when the file is created. :func:`convert` rewrites a file
at a new page size with ``VACUUM``, which SQLite runs as one transaction: it either completes or
leaves the file as it was. SQLite cannot change the page size of a file in write-ahead-log mode,
so the file goes to a rollback journal for the ``VACUUM`` and back to the log after it, and that
switch needs the only connection to the file: while any other process (``lienthong run``, a
worker, the dashboard) has it open, :func:`convert` changes nothing and says so.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from adapters.store.database import safe_url
from workflow.errors import StoreError

#: the page sizes SQLite accepts
PAGE_SIZES = tuple(2**n for n in range(9, 17))


@dataclass(frozen=True, slots=True)
class PageReport:
    """A store file's page size and size before and after :func:`convert`."""

    path: Path
    before: int  # bytes a page
    after: int
    bytes_before: int  # the file with its log
    bytes_after: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


def sqlite_file(url: str) -> Path:
    """The existing SQLite database file of a store ``url``; a :class:`StoreError` naming what is
    wrong for any other URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise StoreError(
            f"{safe_url(url)} is not an SQLite store: only an SQLite file has a page size to "
            "change (PostgreSQL keeps 8 KiB pages)"
        )
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise StoreError(
            f"{safe_url(url)} names no database file: give a URL such as "
            "sqlite:///var/lienthong.sqlite3"
        )
    path = Path(database)
    if not path.is_file():
        raise StoreError(
            f"there is no store file at {path}: check LIENTHONG_DATABASE_URL or "
            "LIENTHONG_VAR_DIR (`lienthong run` or `lienthong db upgrade` creates it)"
        )
    return path


def page_size(path: Path) -> int:
    """The page size of the SQLite file at ``path``, in bytes."""
    connection = sqlite3.connect(path)
    try:
        return _page_size(connection, path)
    finally:
        connection.close()


def _page_size(connection: sqlite3.Connection, path: Path) -> int:
    try:
        connection.execute("PRAGMA schema_version")  # reads the header (page_size would not)
        return int(connection.execute("PRAGMA page_size").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise StoreError(
            f"{path} is not an SQLite database ({error}): check LIENTHONG_DATABASE_URL"
        ) from None


def room_needed(file_bytes: int) -> int:
    """Free bytes a ``VACUUM`` of a file of ``file_bytes`` may need beside it: the rewritten
    copy (a temporary file) and the rollback journal of the original's pages, at most the
    file's size each."""
    return 2 * file_bytes


def convert(path: Path, size: int) -> PageReport:
    """Rewrite the store file at ``path`` with pages of ``size`` bytes (``VACUUM``), and put it
    back in write-ahead-log mode. Nothing changes if the file has that page size already, and
    nothing is changed (a :class:`StoreError` says why) if ``size`` is not a page size, if
    another connection has the file open, or if the disk has too little room."""
    if size not in PAGE_SIZES:
        raise StoreError(
            f"{size} is not a page size SQLite accepts: give a power of two from 512 to 65536 "
            "(the store makes new files with 2048)"
        )
    bytes_before = _bytes(path)
    free = shutil.disk_usage(path.parent).free
    if free < room_needed(bytes_before):
        raise StoreError(
            f"{path} takes {bytes_before:,} bytes and rewriting it may need "
            f"{room_needed(bytes_before):,} free beside it, but {path.parent} has {free:,}: "
            "free some space and run this again; nothing was changed"
        )
    # a short wait: a file held by a running service should be reported, not waited for
    connection = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    try:
        before = _page_size(connection, path)
        if before == size:
            return PageReport(path, before, before, bytes_before, bytes_before)
        try:
            # leaving the log checkpoints it into the file and needs the only connection
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as error:
            mode = str(error)
        if mode != "delete":
            raise StoreError(
                f"{path} is in use by another process ({mode}): stop `lienthong run`, its "
                "workers and anything else that opens the store, then run this again; nothing "
                "was changed"
            )
        try:
            connection.execute(f"PRAGMA page_size={size}")
            connection.execute("VACUUM")  # one transaction: the whole file, or none of it
        except sqlite3.Error as error:
            raise StoreError(
                f"rewriting {path} failed ({error}); SQLite rolled it back, so the file is as "
                "it was: fix the cause and run this again"
            ) from None
        finally:
            _back_to_the_log(connection)
        after = _page_size(connection, path)
        check = connection.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        connection.close()
    if check != "ok":  # VACUUM copies page by page through SQLite itself: not expected
        raise StoreError(f"{path} fails SQLite's integrity check after the rewrite: {check}")
    return PageReport(path, before, after, bytes_before, _bytes(path))


def _back_to_the_log(connection: sqlite3.Connection) -> None:
    """Put the file back in write-ahead-log mode. If even that fails, the store's next
    connection does it (``database.SQLITE_PRAGMAS``): the file works in either mode meanwhile."""
    with contextlib.suppress(sqlite3.Error):
        connection.execute("PRAGMA journal_mode=WAL")


def _bytes(path: Path) -> int:
    """The file's bytes with its write-ahead log, if any."""
    log = path.with_name(path.name + "-wal")
    return path.stat().st_size + (log.stat().st_size if log.exists() else 0)
