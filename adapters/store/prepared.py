"""The store's hot statements, compiled once per dialect and run on the driver's cursor.

An action is one unit of work of a few short statements: a version check, an ``UPDATE`` of the
dossier, an ``INSERT`` of its control-sheet row (and of an outbox row at a hand-over). SQLite runs
each in a few microseconds; executing one through SQLAlchemy's ``Connection.execute`` adds about
20 µs of Python (its cache key, execution context and result object; measured on a version check:
20.6 µs, against 2.9 µs here and 1.2 µs for the bare driver), so that layer was the larger part
of an action. SQLAlchemy still builds these statements, compiles them for the dialect and
converts their parameters (instants to UTC, JSON, booleans) with the column types' own bind
processors; :class:`Prepared` keeps that compiled form and hands it to the cursor of the unit of
work's connection, inside the transaction SQLAlchemy manages. Driver errors are raised as
SQLAlchemy's (``IntegrityError``, ``OperationalError``...), and a connection the dialect finds
broken is invalidated, as ``Connection.execute`` does.

Only plain statements qualify: every parameter a named bind, no expanding ``IN`` lists, no
Python-side column defaults (an ``INSERT`` lists the columns it is given; the others take their
server default or ``NULL``), no result conversions (rows come as the driver returns them: read
integers and text with it, and anything else through ``Connection.execute``). Engine logging
(``echo``) and cursor events do not see these statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Insert
from sqlalchemy.sql.expression import Executable

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Form:
    """One statement as compiled for one dialect (and, for an INSERT, one set of columns)."""

    sql: str
    names: tuple[str, ...] | None  # positional drivers (SQLite): the order of the parameters
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    fixed: Mapping[str, Any]  # values the statement carries itself (``values(last=1)``)
    needed: tuple[str, ...]  # the parameters the caller must give

    def convert(self, params: Params) -> Any:
        """The driver's parameters: the statement's own values, then the caller's, each through
        its column type's bind processor; a tuple in the statement's order for positional
        drivers."""
        try:
            if self.fixed or self.processors:
                params = {**self.fixed, **params}
                for name, process in self.processors:
                    params[name] = process(params[name])
            if self.names is None:
                for name in self.needed:  # the driver's own error would not name it
                    params[name]
                return params
            return tuple(params[name] for name in self.names)
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
            processors = []
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((name, process))
            fixed = {n: b.effective_value for n, b in compiled.binds.items() if not b.required}
            form = self._forms[key] = _Form(
                compiled.string,
                tuple(compiled.positiontup) if compiled.positional else None,
                tuple(processors),
                fixed,
                tuple(name for name in compiled.binds if name not in fixed),
            )
        return form

    def execute(self, connection: Connection, params: Params | Sequence[Params]) -> Any:
        """Run with ``params`` (a sequence: once per row); the driver's cursor, to read rows
        or ``rowcount`` from."""
        rows: Sequence[Params] = [params] if isinstance(params, Mapping) else params
        columns = tuple(rows[0]) if self._insert else None
        form = self._form(connection.dialect, columns)
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None:  # pragma: no cover - SQLAlchemy revalidates first
            raise exc.ResourceClosedError("the connection is closed")
        cursor = dbapi_connection.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(form.sql, form.convert(rows[0]))
            else:
                cursor.executemany(form.sql, [form.convert(row) for row in rows])
        except connection.dialect.loaded_dbapi.Error as error:
            _raise(connection, form.sql, params, error, dbapi_connection, cursor)
        return cursor

    def first(self, connection: Connection, params: Params) -> tuple[Any, ...] | None:
        """The first row as the driver returns it, or None; the cursor is closed (on SQLite
        that ends the statement)."""
        cursor = self.execute(connection, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    def scalar(self, connection: Connection, params: Params) -> Any:
        """The first column of the first row, or None."""
        row = self.first(connection, params)
        return None if row is None else row[0]


def _raise(
    connection: Connection,
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
    raise exc.DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=broken,
        dialect=dialect,
    ) from error
