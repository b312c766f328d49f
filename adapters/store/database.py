"""Engines for SQLite and PostgreSQL, schema upgrades, and translation of driver errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, Engine, create_engine, event, exc, make_url, text

from adapters.store.prepared import Prepared
from workflow.errors import ConcurrentUpdate, StoreError, StoreUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def safe_url(url: str | URL) -> str:
    """The URL with any password hidden, fit for an error message."""
    return make_url(url).render_as_string(hide_password=True)


#: execution option of a connection that only reads (see :func:`read_connection`)
READ_ONLY = "lienthong_read_only"


def read_connection(engine: Engine) -> Connection:
    """A connection for reading only. Its transaction is one consistent snapshot; on SQLite it
    takes no write lock (an ordinary connection's first statement takes it, to queue writers),
    so a long read such as the metrics' history or an audit never holds up the writers, and
    never waits for them."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``: SQLite (file, WAL, serialised writers) or PostgreSQL (psycopg 3).

    Nothing connects until the engine is first used.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=SQLITE_CONNECT_ARGS, **options)
        _sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # no pre-ping (a round trip per unit of work): a connection dropped by a database restart
    # fails one unit of work with StoreUnavailable, is invalidated, and the next one reconnects.
    # A pool as large as the API's usual concurrency per process: a connection opened beyond
    # the pool is closed after its one request, and opening one costs more than the request.
    options = {"pool_size": 16, "max_overflow": 16, **options}
    return create_engine(parsed, pool_recycle=1800, **options)


#: the arguments of every SQLite connection: a writer waits up to 30 s for the write lock
SQLITE_CONNECT_ARGS = {"timeout": 30}

#: the page size of a new SQLite file, in bytes (see SQLITE_PRAGMAS; ``lienthong db page-size``
#: rewrites an existing file at it)
SQLITE_PAGE_SIZE = 2048

#: set on every SQLite connection: 2 KiB pages for a new database file, write-ahead log, fsync at
#: checkpoints only, foreign keys, and a checkpoint every 10,000 log pages rather than SQLite's
#: 1,000.
#:
#: The pages: a unit of work changes a few rows of small records (the dossier's row, its control-
#: sheet row, an outbox message, index entries) and its commit writes every page it changed to
#: the log whole, 9 to 10 pages a commit; what that costs goes with the bytes (the copy into the
#: file's cache, the log's checksum over each page, the checkpoint's copy back and its sync), not
#: with the number of pages. The same statements replayed on the bare driver took 85 µs a step
#: with SQLite's default 4 KiB pages, 59 with 2 KiB, 50 with 1 KiB; a scan of the whole SLA board
#: over 1,000,000 dossiers took 0.40, 0.46 and 0.54 s. 2 KiB keeps most of the writers' gain
#: for a sixth more on the largest read. ``page_size`` only applies to a file that holds nothing
#: yet (it comes first, before ``journal_mode`` writes the header): an existing file keeps its
#: pages until ``lienthong db page-size`` rewrites it (``adapters.store.pages``).
#:
#: The checkpoints: a checkpoint copies each page of the log back into the database once, however
#: often it was written, and syncs the file: an action rewrites the same few index pages, so one
#: checkpoint in ten copies almost as many pages as each did, and most syncs are saved (83 to 14
#: over 330 dossiers of the peer benchmark, whose persisted step took 8% to 23% less time in
#: three interleaved pairs of runs). The log file stays at that size (20 MiB with 2 KiB pages);
#: reopening after a crash replays at most that. A store checkpoints on its own thread long
#: before that (``adapters.store.checkpoint``): this limit is the backstop a commit checkpoints
#: at only when that thread has fallen behind or is not running.
SQLITE_PRAGMAS = (
    f"page_size={SQLITE_PAGE_SIZE}",
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "wal_autocheckpoint=10000",
)


def _set_pragmas(dbapi_connection: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def unpooled_sqlite_connection(engine: Engine) -> Any:
    """A new DB-API connection to ``engine``'s SQLite database, with the engine's driver, connect
    arguments and pragmas, that the engine's pool never sees (neither counts, resets nor closes
    it): the caller closes it. For a connection held for the engine's whole life by a thread of
    its own (``adapters.store.checkpoint``)."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    connection = engine.dialect.connect(*cargs, **{**cparams, **SQLITE_CONNECT_ARGS})
    try:
        _set_pragmas(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        _set_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # SQLite has one writer at a time. Take the write lock when the unit of work begins
        # (waiting up to the busy timeout), so that a unit of work never reads a snapshot that
        # another writer then invalidates: writers queue instead of failing. A connection that
        # only reads (read_connection) begins a deferred transaction: one snapshot of the WAL,
        # no lock, so reads never queue behind writers nor writers behind reads; an autocommit
        # one opens no transaction at all. pysqlite's own transaction handling stays off (the
        # pool's reset turns it back on for a connection an AUTOCOMMIT user handed back): set
        # here, not at every checkout (a pool listener costs 4 µs a checkout; units of work
        # check out with adapters.store.prepared.DriverConnection, which sets it too).
        connection.connection.driver_connection.isolation_level = None
        options = connection.get_execution_options()
        if options.get("isolation_level") != "AUTOCOMMIT":
            SQLITE_BEGIN[bool(options.get(READ_ONLY))].execute(connection, {})


#: (read only?) -> the statement that begins a SQLite transaction
SQLITE_BEGIN = {False: Prepared(text("BEGIN IMMEDIATE")), True: Prepared(text("BEGIN"))}


@contextlib.contextmanager
def translated(url: str | URL) -> Iterator[None]:
    """Translate driver errors: unreachable or failing database into :class:`StoreUnavailable`,
    a lost race for SQLite's write lock into :class:`ConcurrentUpdate`."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise translation(error, url) from error


def translation(error: exc.OperationalError | exc.InterfaceError, url: str | URL) -> StoreError:
    """What :func:`translated` raises for ``error`` (for hot paths: a ``try`` costs nothing
    until it fails, a ``with`` block a microsecond every time)."""
    if "database is locked" in str(error.orig):
        return ConcurrentUpdate(
            "another writer changed the database first (or held it longer than the busy "
            "timeout); nothing was written: reload and try again"
        )
    if getattr(error, "connection_invalidated", False) or _is_connect_error(error):
        return StoreUnavailable(
            f"cannot reach the database at {safe_url(url)}: {_reason(error)}. Check "
            "LIENTHONG_DATABASE_URL and that the database server is running."
        )
    return StoreUnavailable(f"the database at {safe_url(url)} failed: {_reason(error)}")


def _is_connect_error(error: exc.DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(
        word in text
        for word in ("connection", "connect", "unable to open", "could not", "refused", "timeout")
    )


def _reason(error: exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs the package's migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    with translated(str(engine.url)):
        command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with translated(str(engine.url)), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
