"""The SQLAlchemy unit of work and dossier repository.

A unit of work is one database transaction. Dossiers read through it are tracked; on
:meth:`SqlUnitOfWork.commit` each changed one is written with
``UPDATE ... WHERE version = <version read>``, and its new control-sheet rows are appended with
their hash links. If another writer saved the dossier meanwhile, nothing is written and
:class:`~workflow.errors.ConcurrentUpdate` is raised: reload and retry (``services.retrying``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, bindparam, exc, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.store import tables as t
from adapters.store.cache import DossierCache, Snapshot
from adapters.store.database import SQLITE_BEGIN, translated, translation
from adapters.store.pii import Keyring
from adapters.store.prepared import DriverConnection, Prepared, Spare
from adapters.store.records import dossier_row, event_rows, genesis, to_dossier
from workflow.definition import NationalStatus
from workflow.dossier import ControlEvent, Dossier
from workflow.errors import ConcurrentUpdate, DossierNotFound, StaleCopy, StoreError
from workflow.messages import Outgoing
from workflow.ports import DossierRepository, Outbox, Submissions, UnitOfWork, dossier_code

# built once, compiled once per dialect, run on the driver's cursor (Prepared)
_DOSSIER = Prepared(select(t.dossiers).where(t.dossiers.c.code == bindparam("code")))
_DOSSIER_COLUMNS = _DOSSIER.columns()
_VERSION = Prepared(select(t.dossiers.c.version).where(t.dossiers.c.code == bindparam("code")))
_E = t.events.c
# exactly the control-sheet fields, in ControlEvent's order: rows become events positionally
_HISTORY = Prepared(
    select(
        _E.seq,
        _E.at,
        _E.trigger,
        _E.from_state,
        _E.to_state,
        _E.status,
        _E.actor,
        _E.actor_agency,
        _E.agency,
        _E.step,
        _E.to_agency,
        _E.to_step,
        _E.note,
    )
    .where(_E.dossier_code == bindparam("code"))
    .order_by(_E.seq)
)
_STATUS = {status.value: status for status in NationalStatus}
_COLUMNS = {column.name: column for column in t.dossiers.c}
# one UPDATE per set of changed columns, built and compiled on first use; each save binds only
# what changed
_UPDATES: dict[tuple[str, ...], Prepared] = {}


def _update_of(names: tuple[str, ...]) -> Prepared:
    statement = _UPDATES.get(names)
    if statement is None:
        values = {_COLUMNS[n]: bindparam(f"v_{n}", type_=_COLUMNS[n].type) for n in names}
        values[t.dossiers.c.version] = bindparam("v_version")
        statement = _UPDATES[names] = Prepared(
            update(t.dossiers)
            .where(
                t.dossiers.c.code == bindparam("b_code"),
                t.dossiers.c.version == bindparam("b_version"),
            )
            .values(values)
        )
    return statement


@dataclass(slots=True)
class _Tracked:
    dossier: Dossier
    version: int  # 0 for a new dossier
    events: int  # control-sheet rows already stored
    head: str
    row: dict[str, Any] | None
    applicant: tuple[str | None, str | None]
    identity: str | None
    confirmed: bool = True  # False: a cached copy not yet known to be the latest


class SqlDossierRepository(DossierRepository):
    """Dossiers of one unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.tracked: dict[str, _Tracked] = {}

    def add(self, dossier: Dossier) -> None:
        applicant = self._uow.protect(dossier.applicant_id)
        self.tracked[dossier.code] = _Tracked(
            dossier, 0, 0, genesis(dossier.code), None, applicant, dossier.applicant_id
        )

    def get(self, code: str, *, latest: bool = True) -> Dossier:
        if code in self.tracked:
            return self.tracked[code].dossier
        try:
            return self._read(code, latest or self._uow.read_only)
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise translation(error, self._uow.engine.url) from error

    def _read(self, code: str, latest: bool) -> Dossier:
        connection = self._uow.connection
        cache = self._uow.cache
        cached = cache.get(code) if cache is not None else None
        if cache is not None and cached is not None:
            # not latest: the save's version check (or SqlUnitOfWork._confirm) confirms it
            version = _VERSION.scalar(connection, {"code": code}) if latest else cached.version
            if version == cached.version:  # nothing was saved since: the copy is what is stored
                cache.count(hit=True)
                dossier = cached.fresh()
                self.tracked[code] = _Tracked(
                    dossier,
                    version,
                    len(dossier.history),
                    cached.head,
                    cached.row,
                    cached.applicant,
                    dossier.applicant_id,
                    confirmed=latest,
                )
                return dossier
            cache.count(hit=False)
            cache.drop(code)
        found = _DOSSIER.first(connection, {"code": code})
        if found is None:
            raise DossierNotFound(f"no dossier with code '{code}'")
        row = dict(zip(_DOSSIER_COLUMNS, found, strict=True))
        history = [
            ControlEvent._make((*r[:5], _STATUS[r[5]], *r[6:]))
            for r in _HISTORY.all(connection, {"code": code})
        ]
        dossier = to_dossier(row, history, self._uow.keyring)
        applicant = (row["applicant_key"], row["applicant_secret"])
        snapshot = dict(row)  # what is stored: only columns that differ are written back
        del snapshot["version"]
        self.tracked[code] = _Tracked(
            dossier,
            row["version"],
            len(history),
            row["head_hash"],
            snapshot,
            applicant,
            dossier.applicant_id,
        )
        if cache is not None:
            cache.put(
                code, Snapshot.of(row["version"], dossier, snapshot, row["head_hash"], applicant)
            )
        return dossier


class SqlOutbox(Outbox):
    """Messages staged in this unit of work; inserted into ``outbox`` on commit."""

    def __init__(self) -> None:
        self.staged: list[Outgoing] = []

    def add(self, message: Outgoing) -> None:
        self.staged.append(message)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "message_id": m.message_id,
                "dossier_code": m.dossier_code,
                "from_agency": m.from_agency,
                "to_agency": m.to_agency,
                "service": m.service.value,
                "envelope": {"step": m.step, "created": m.created.isoformat(), "body": m.body},
                "created_at": m.created,
                "attempts": 0,
                "next_attempt_at": m.created,
            }
            for m in self.staged
        ]


# built once: an INSERT built per call costs more than its round trip
_INSERT_DOSSIERS = Prepared(t.dossiers.insert())
_INSERT_EVENTS = Prepared(t.events.insert())
_INSERT_OUTBOX = Prepared(t.outbox.insert())
_INSERT_SUBMISSIONS = Prepared(t.submissions.insert())
_NEXT_NUMBERS: dict[str, Prepared] = {}


def _one_or_many(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """One row as a plain execute (an executemany of one row costs more), more as many."""
    return rows[0] if len(rows) == 1 else rows


def _next_number(dialect_name: str) -> Prepared:
    """``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last`` on the agency's
    sequence of the day, built once per dialect (it runs on every submission)."""
    statement = _NEXT_NUMBERS.get(dialect_name)
    if statement is None:
        seq = t.dossier_sequences
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        statement = _NEXT_NUMBERS[dialect_name] = Prepared(
            dialect.insert(seq)
            .values(agency=bindparam("agency"), day=bindparam("day"), last=1)
            .on_conflict_do_update(
                index_elements=[seq.c.agency, seq.c.day], set_={"last": seq.c.last + 1}
            )
            .returning(seq.c.last)
        )
    return statement


_SUBMISSION = Prepared(
    select(t.submissions.c.fingerprint, t.submissions.c.dossier_code).where(
        t.submissions.c.caller == bindparam("caller"), t.submissions.c.key == bindparam("key")
    )
)


class SqlSubmissions(Submissions):
    """Idempotency keys: read in the unit's transaction, inserted on commit."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: list[dict[str, Any]] = []

    def find(self, caller: str, key: str) -> tuple[str, str] | None:
        try:
            row = _SUBMISSION.first(self._uow.connection, {"caller": caller, "key": key})
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise translation(error, self._uow.engine.url) from error
        return None if row is None else (row[0], row[1])

    def add(self, caller: str, key: str, fingerprint: str, code: str) -> None:
        self.staged.append(
            {
                "caller": caller,
                "key": key,
                "fingerprint": fingerprint,
                "dossier_code": code,
                "created_at": dt.datetime.now(dt.UTC),
            }
        )


class SqlUnitOfWork(UnitOfWork):
    """A transaction on a connection of a SQLAlchemy engine's pool, begun and ended on the
    driver (:class:`~adapters.store.prepared.DriverConnection`); rolls back unless committed."""

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        cache: DossierCache | None = None,
        *,
        read_only: bool = False,
        spare: Spare | None = None,
    ) -> None:
        """``read_only``: for reading dossiers only; each statement reads the latest committed
        data (SQLite: no transaction, no write lock; PostgreSQL: a read-committed transaction,
        rolled back at the end), and :meth:`commit` refuses."""
        self.engine = engine
        self.read_only = read_only
        self.keyring = keyring
        self.cache = cache
        self.spare = spare
        self._connection: DriverConnection | None = None
        self.dossiers: SqlDossierRepository = SqlDossierRepository(self)
        self.outbox: SqlOutbox = SqlOutbox()
        self.submissions: SqlSubmissions = SqlSubmissions(self)

    @property
    def connection(self) -> DriverConnection:
        if self._connection is None:
            raise StoreError("the unit of work is not open: use it in a `with` block")
        return self._connection

    def __enter__(self) -> Self:
        # SQLite: take the write lock now (see database.SQLITE_BEGIN); PostgreSQL's driver
        # begins at the first statement
        lock = not self.read_only and self.engine.dialect.name == "sqlite"
        try:  # translation(): a ``with translated(...)`` costs a microsecond every time
            self._connection = DriverConnection(
                self.engine, SQLITE_BEGIN[False] if lock else None, self.spare
            )
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise translation(error, self.engine.url) from error
        self.dossiers = SqlDossierRepository(self)
        self.outbox = SqlOutbox()
        self.submissions = SqlSubmissions(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            # the work's own failure; not an interrupt or an exit, which must not become a
            # StaleCopy that ``act`` would run again
            if isinstance(error, Exception) and not isinstance(error, StoreError):
                self._confirm(error)
        finally:
            self._clear()
            if self._connection is not None:
                self._connection.close()  # the pool rolls back whatever was not committed
                self._connection = None

    def _confirm(self, error: BaseException) -> None:
        """The work failed with ``error``: raise ``StaleCopy`` instead if it ran on a kept copy
        of a dossier that another writer had saved since (``get(code, latest=False)``), whose
        failure may then be wrong."""
        if self._connection is None:
            return
        for tracked in self.dossiers.tracked.values():
            if tracked.confirmed:
                continue
            code = tracked.dossier.code
            try:
                version = _VERSION.scalar(self._connection, {"code": code})
            except (exc.OperationalError, exc.InterfaceError) as failure:
                raise translation(failure, self.engine.url) from failure
            if version != tracked.version:
                if self.cache is not None:
                    self.cache.count(hit=False)
                    self.cache.drop(code)
                raise StaleCopy(
                    f"the kept copy of dossier {code} (version {tracked.version}) was not the "
                    f"latest ({version}), so what the work raised may be wrong: run it again"
                ) from error

    def protect(self, identity: str | None) -> tuple[str | None, str | None]:
        """(pseudonym, token) of an identity number, or (None, None)."""
        if identity is None:
            return None, None
        return self.keyring.pseudonym(identity), self.keyring.encrypt(identity)

    def next_code(self, agency: str, day: dt.date) -> str:
        statement = _next_number(self.connection.dialect.name)
        try:
            number = statement.scalar(self.connection, {"agency": agency, "day": day})
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise translation(error, self.engine.url) from error
        return dossier_code(agency, day, number)

    def commit(self) -> None:
        if self.read_only:
            raise StoreError("a read-only unit of work cannot commit; use unit_of_work()")
        connection = self.connection
        saved: list[tuple[_Tracked, str, dict[str, Any]]] = []
        try:  # translation(): a ``with translated(...)`` costs a microsecond every time
            try:
                for tracked in self.dossiers.tracked.values():
                    written = self._save(connection, tracked)
                    if written is not None:
                        saved.append((tracked, *written))
                if self.outbox.staged:  # the messages commit with the change that caused them
                    _INSERT_OUTBOX.execute(connection, _one_or_many(self.outbox.rows()))
                if self.submissions.staged:  # a second commit of the same key fails here
                    _INSERT_SUBMISSIONS.execute(connection, _one_or_many(self.submissions.staged))
            except exc.IntegrityError as error:
                connection.rollback()
                self._forget()
                raise ConcurrentUpdate(
                    "another writer saved the same dossier at the same time; nothing was "
                    "written: reload it and try again"
                ) from error
            except BaseException:
                connection.rollback()
                self._forget()
                raise
            connection.commit()
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise translation(error, self.engine.url) from error
        for tracked, head, row in saved:  # only now: a failed commit changes nothing in memory
            version = tracked.version + 1
            tracked.dossier.version = version
            if self.cache is not None:
                snapshot = Snapshot.of(version, tracked.dossier, row, head, tracked.applicant)
                self.cache.put(tracked.dossier.code, snapshot)
        self._clear()

    def _forget(self) -> None:
        """Drop this unit's dossiers from the cache: after a failure, read them afresh."""
        if self.cache is not None:
            for code in self.dossiers.tracked:
                self.cache.drop(code)

    def _save(
        self, connection: DriverConnection, tracked: _Tracked
    ) -> tuple[str, dict[str, Any]] | None:
        """Write one dossier if it changed: its new head hash and row, or None if unchanged."""
        dossier = tracked.dossier
        if dossier.applicant_id != tracked.identity:
            tracked.applicant = self.protect(dossier.applicant_id)
            tracked.identity = dossier.applicant_id
        new_rows, head = event_rows(dossier.code, dossier.history[tracked.events :], tracked.head)
        row = dossier_row(dossier, head, tracked.applicant)
        if tracked.version and not new_rows and row == tracked.row:
            return None  # unchanged: nothing to write
        if tracked.version == 0:
            _INSERT_DOSSIERS.execute(connection, {**row, "version": 1})
        else:
            stored = tracked.row or {}
            changed = tuple(n for n, v in row.items() if n != "code" and stored.get(n) != v)
            values = {f"v_{name}": row[name] for name in changed}
            values["v_version"] = tracked.version + 1
            done = _update_of(changed).execute(
                connection, {"b_code": dossier.code, "b_version": tracked.version, **values}
            )
            if done.rowcount != 1:
                if not tracked.confirmed:
                    if self.cache is not None:
                        self.cache.count(hit=False)
                    raise StaleCopy(
                        f"the kept copy of dossier {dossier.code} (version {tracked.version}) "
                        "was not the latest; nothing was written: run the work again"
                    )
                raise ConcurrentUpdate(
                    f"dossier {dossier.code} was changed by another writer since it was read "
                    f"(version {tracked.version}); nothing was written: reload it and try again"
                )
            tracked.confirmed = True  # the version matched: the copy was the latest
        if new_rows:
            _INSERT_EVENTS.execute(connection, _one_or_many(new_rows))
        return head, row

    def rollback(self) -> None:
        if self._connection is not None:
            with translated(self.engine.url):
                self._connection.rollback()
        self._clear()

    def _clear(self) -> None:
        """Forget what this unit tracked and staged."""
        self.dossiers.tracked.clear()
        self.outbox.staged.clear()
        self.submissions.staged.clear()
