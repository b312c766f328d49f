"""The store's hot statements, compiled once per dialect and run on the driver's cursor, and the
units of work's transactions, begun and ended on the driver.

An action is one unit of work of a few short statements: a version check, an ``UPDATE`` of the
dossier, an ``INSERT`` of its control-sheet row (and of an outbox row at a hand-over). SQLite runs
each in a few microseconds; executing one through SQLAlchemy's ``Connection.execute`` adds about
20 µs of Python (its cache key, execution context and result object; measured on a version check:
20.6 µs, against 2.9 µs here and 1.2 µs for the bare driver), so that layer was the larger part
of an action. SQLAlchemy still builds these statements, compiles them for the dialect and
converts their parameters (instants to UTC, JSON, booleans) with the column types' own bind
processors, and their rows with the columns' result processors; :class:`Prepared` keeps that
compiled form and hands it to the driver's cursor. Driver errors are raised as SQLAlchemy's
(``IntegrityError``, ``OperationalError``...), and a connection the dialect finds broken is
invalidated, as ``Connection.execute`` does.

Only plain statements qualify: every parameter a named bind, no expanding ``IN`` lists, no
Python-side column defaults (an ``INSERT`` lists the columns it is given; the others take their
server default or ``NULL``). Engine logging (``echo``) and cursor events do not see these
statements.

A unit of work's transaction is the same story one level up: checking a ``Connection`` out,
beginning, committing and returning it cost 34 µs of Python per unit of work, against 16 µs for
a connection of the same pool (``Engine.raw_connection``) whose transaction is begun and ended on
the driver (:class:`DriverConnection`). The pool stays SQLAlchemy's: it opens, hands out,
resets, recycles and invalidates the connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.sql import Insert
from sqlalchemy.sql.expression import Executable

Params = Mapping[str, Any]


class Target(Protocol):
    """Where a :class:`Prepared` statement runs: a :class:`DriverConnection`, or SQLAlchemy's
    ``Connection`` (its transaction then stays SQLAlchemy's)."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def connection(self) -> PoolProxiedConnection: ...

    def invalidate(self, exception: BaseException | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class _Form:
    """One statement as compiled for one dialect (and, for an INSERT, one set of columns)."""

    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    fixed: Mapping[str, Any]  # values the statement carries itself (``values(last=1)``)
    needed: tuple[str, ...]  # the parameters the caller must give
    results: tuple[Callable[[Any], Any] | None, ...] | None  # per column read; None: no change
    # positional drivers: each parameter's name and bind processor (None: as given), in order
    order: tuple[tuple[str, Callable[[Any], Any] | None], ...] | None

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A row as the driver returned it, through its columns' result processors."""
        if self.results is None:
            return tuple(raw)
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self.results, raw, strict=True)
        )

    def convert(self, params: Params) -> Any:
        """The driver's parameters: the statement's own values, then the caller's, each through
        its column type's bind processor; a list in the statement's order for positional
        drivers."""
        try:
            if self.fixed:
                params = {**self.fixed, **params}
            if self.order is not None:
                return [params[n] if p is None else p(params[n]) for n, p in self.order]
            if self.processors:
                params = dict(params)
                for name, process in self.processors:
                    params[name] = process(params[name])
            for name in self.needed:  # the driver's own error would not name it
                params[name]
            return params
        except KeyError as missing:
            raise exc.InvalidRequestError(
                f"a value is required for the parameter {missing} of: {self.sql}"
            ) from None


class Prepared:
    """A SQLAlchemy statement executed without the ``Connection.execute`` layer."""

    __slots__ = ("_forms", "_insert", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._insert = isinstance(statement, Insert)  # compiled per set of columns given
        self._forms: dict[tuple[str, tuple[str, ...] | None], _Form] = {}

    def _form(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _Form:
        key = (dialect.name, columns)
        form = self._forms.get(key)
        if form is None:
            compiled = self.statement.compile(  # type: ignore[attr-defined]
                dialect=dialect, column_keys=list(columns) if columns is not None else None
            )
            if (
                compiled.escaped_bind_names
                or compiled.insert_prefetch
                or compiled.update_prefetch
                or any(b.expanding or b.literal_execute for b in compiled.binds.values())
            ):
                raise ValueError(f"not a plain statement, execute it instead: {compiled.string}")
            processors: dict[str, Callable[[Any], Any]] = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            fixed = {n: b.effective_value for n, b in compiled.binds.items() if not b.required}
            results = tuple(  # the columns a SELECT or a RETURNING reads (none for text)
                c.type.dialect_impl(dialect).result_processor(dialect, None)
                for c in getattr(self.statement, "exported_columns", ())
            )
            form = self._forms[key] = _Form(
                compiled.string,
                tuple(processors.items()),
                fixed,
                tuple(name for name in compiled.binds if name not in fixed),
                results if any(p is not None for p in results) else None,
                None
                if not compiled.positional
                else tuple((n, processors.get(n)) for n in compiled.positiontup),
            )
        return form

    def columns(self) -> tuple[str, ...]:
        """The names of the columns a SELECT or a RETURNING reads, in order."""
        return tuple(c.key for c in getattr(self.statement, "exported_columns", ()))

    def execute(self, connection: Target, params: Params | Sequence[Params]) -> Any:
        """Run with ``params`` (a sequence: once per row); the driver's cursor, to read
        ``rowcount`` from (rows: :meth:`all`, :meth:`first`, :meth:`scalar`)."""
        return self._run(connection, params)[1]

    def _run(self, connection: Target, params: Params | Sequence[Params]) -> tuple[_Form, Any]:
        # a dict first: isinstance against the Mapping ABC costs a microsecond a statement
        one = type(params) is dict or isinstance(params, Mapping)
        rows: Sequence[Params] = [params] if one else params  # type: ignore[list-item,assignment]
        columns = tuple(rows[0]) if self._insert else None
        form = self._form(connection.dialect, columns)
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None:  # invalidated (SQLAlchemy's Connection revalidates first)
            raise exc.ResourceClosedError("the connection was invalidated; start again")
        cursor = dbapi_connection.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(form.sql, form.convert(rows[0]))
            else:
                cursor.executemany(form.sql, [form.convert(row) for row in rows])
        except connection.dialect.loaded_dbapi.Error as error:
            _raise(connection, form.sql, params, error, dbapi_connection, cursor)
        return form, cursor

    def all(self, connection: Target, params: Params) -> list[tuple[Any, ...]]:
        """Every row, each value through its column type's result processor (text to instants
        on SQLite, integers to booleans...), as ``Connection.execute`` returns them."""
        form, cursor = self._run(connection, params)
        try:
            raw = cursor.fetchall()
        finally:
            cursor.close()
        return [form.row(r) for r in raw]

    def first(self, connection: Target, params: Params) -> tuple[Any, ...] | None:
        """The first row (as :meth:`all`), or None; the cursor is closed (on SQLite that ends
        the statement)."""
        form, cursor = self._run(connection, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else form.row(row)

    def scalar(self, connection: Target, params: Params) -> Any:
        """The first column of the first row, or None."""
        row = self.first(connection, params)
        return None if row is None else row[0]


def _raise(
    connection: Target,
    sql: str,
    params: Any,
    error: Any,
    dbapi_connection: Any,
    cursor: Any,
) -> None:
    """Re-raise a driver error as SQLAlchemy's, invalidating a connection the dialect finds
    broken (the pool then opens a new one), as ``Connection.execute`` does."""
    dialect = connection.dialect
    broken = dialect.is_disconnect(error, dbapi_connection, cursor)
    if broken:
        connection.invalidate(error)
    raise _wrapped(dialect, sql, params, error, broken=broken) from error


def _wrapped(
    dialect: Dialect, sql: str | None, params: Any, error: Any, *, broken: bool
) -> exc.DBAPIError:
    """The SQLAlchemy exception for a driver error (``IntegrityError``, ``OperationalError``...)."""
    wrapped: exc.DBAPIError = exc.DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=broken,
        dialect=dialect,
    )
    return wrapped


def sqlite_file_pool(engine: Engine) -> bool:
    """Whether ``engine`` pools connections to an SQLite file (SQLAlchemy's ``QueuePool``); an
    in-memory database's pool is one database and connection per thread."""
    return engine.dialect.name == "sqlite" and isinstance(engine.pool, QueuePool)


class Spare:
    """The connection the last unit of work gave back, kept at hand for the next one instead of
    going back into the engine's pool (an SQLite file only).

    Checking a connection out of SQLAlchemy's pool and back in (its record, its finalizer, the
    reset's rollback, the queue) costs more Python than anything else a unit of work does
    outside SQLite. The pool still opens every connection and closes every one it is given
    back: a spare is only one of its connections, checked out, that the next unit of work
    takes without the pool's round trip. A connection is kept only if it is still valid and no
    transaction is left open on it, and at most one is kept (units of work running at the same
    time check out from the pool as before). PostgreSQL's connections always go back to the
    pool, which recycles them by age at checkout. :meth:`close` gives the spare back (the
    store's ``close`` does, before it disposes of the pool)."""

    __slots__ = ("_kept", "_lock", "keep")

    def __init__(self, engine: Engine) -> None:
        self.keep = sqlite_file_pool(engine)
        self._kept: PoolProxiedConnection | None = None
        self._lock = threading.Lock()

    def take(self) -> PoolProxiedConnection | None:
        """The spare connection, now the caller's, or None."""
        with self._lock:
            kept, self._kept = self._kept, None
        return kept

    def give_back(self, connection: PoolProxiedConnection) -> None:
        """Keep ``connection`` as the spare if it can be, else give it back to the pool."""
        if (
            self.keep
            and connection.dbapi_connection is not None  # not invalidated
            and not connection.driver_connection.in_transaction  # type: ignore[union-attr]
        ):
            with self._lock:
                if self._kept is None:
                    self._kept = connection
                    return
        connection.close()

    def close(self) -> None:
        """Give the spare back to the pool."""
        kept = self.take()
        if kept is not None:
            kept.close()


class DriverConnection:
    """A connection of the engine's pool for one unit of work, its transaction begun, committed
    and rolled back on the driver: ``begin`` (SQLite's ``BEGIN IMMEDIATE``) when given; on
    PostgreSQL the driver begins one at the first statement by itself. On SQLite pysqlite's own
    transaction handling is off, so without ``begin`` every statement commits on its own (reads:
    no lock). :meth:`close` hands it back to the pool, which rolls back whatever is left.

    Errors are SQLAlchemy's, as from ``Connection``: a driver error while connecting, committing
    or rolling back is raised as ``exc.DBAPIError``'s subclass, and a connection the dialect
    finds broken is invalidated (the pool opens a new one next time).
    """

    __slots__ = ("connection", "dialect", "spare")

    def __init__(
        self, engine: Engine, begin: Prepared | None = None, spare: Spare | None = None
    ) -> None:
        """``spare``: take its connection if it has one, and give the connection back to it."""
        self.dialect: Dialect = engine.dialect
        self.spare = spare
        kept = spare.take() if spare is not None else None
        if kept is not None:
            self.connection: PoolProxiedConnection = kept
        else:
            try:
                self.connection = engine.raw_connection()
            except self.dialect.loaded_dbapi.Error as error:
                broken = self.dialect.is_disconnect(error, None, None)
                raise _wrapped(self.dialect, None, None, error, broken=broken) from error
            if self.dialect.name == "sqlite":  # see database._sqlite_pragmas: we emit BEGIN
                self.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
        if begin is not None:
            try:
                begin.execute(self, {})
            except BaseException:
                self.close()
                raise

    def commit(self) -> None:
        self._end("COMMIT", self.connection.commit)

    def rollback(self) -> None:
        if self.connection.dbapi_connection is not None:  # not invalidated
            self._end("ROLLBACK", self.connection.rollback)

    def _end(self, sql: str, end: Callable[[], None]) -> None:
        try:
            end()
        except self.dialect.loaded_dbapi.Error as error:
            _raise(self, sql, None, error, self.connection.dbapi_connection, None)

    def invalidate(self, exception: BaseException | None = None) -> None:
        self.connection.invalidate(exception)

    def close(self) -> None:
        """Back to the pool (rolled back there if a transaction is left open), or kept as the
        spare."""
        if self.spare is not None:
            self.spare.give_back(self.connection)
        else:
            self.connection.close()
