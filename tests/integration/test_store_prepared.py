"""Statements run on the driver's cursor (adapters.store.prepared) store exactly what
SQLAlchemy's own execution stores, and fail with SQLAlchemy's errors, on both backends."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, event, exc, select, text, update

from adapters.store import tables as t
from adapters.store.database import SQLITE_BEGIN
from adapters.store.pii import Keyring
from adapters.store.prepared import DriverConnection, Prepared, Spare
from adapters.store.store import SqlStore
from tests.conftest import VN
from workflow.errors import ConcurrentUpdate

AT = dt.datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=VN)


def _row(code: str) -> dict[str, Any]:
    """A dossier row with every kind of column the hot path writes: instants (one not in UTC),
    JSON lists, booleans, nulls, text with Vietnamese letters."""
    return {
        "code": code,
        "procedure_code": "2.000986",
        "procedure_version": "2025",
        "state": "submitted",
        "status": 1,
        "closed": False,
        "agency": "000.00.71.H26",
        "step": None,
        "channel": "online",
        "applicant_ref": "Nguyễn Văn A",
        "applicant_key": None,
        "applicant_secret": None,
        "received_at": AT,
        "clock_started_at": None,
        "due_at": AT + dt.timedelta(days=3),
        "finished_at": None,
        "verdict": None,
        "pauses": [["2026-03-02T02:15:30.123456+00:00", None]],
        "due_resets": 0,
        "reset_at": None,
        "reset_due_at": None,
        "supplement_requests": 0,
        "fee_due": True,
        "fee_paid": False,
        "result_ref": None,
        "result_electronic": False,
        "step_started_at": None,
        "step_due_at": None,
        "assignee": None,
        "documents": ["tờ khai", "birth_certificate"],
        "head_hash": "0" * 64,
        "version": 1,
    }


def _stored(sql: SqlStore, code: str) -> tuple[Any, ...]:
    """The row as the database holds it, read without SQLAlchemy's type conversions."""
    with sql.engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT * FROM dossiers WHERE code = " + ("?" if sql.engine.name == "sqlite" else "%s"),
            (code,),
        ).one()
    return tuple(row)


def test_a_prepared_insert_and_update_store_what_sqlalchemy_stores(sql: SqlStore) -> None:
    prepared_update = Prepared(
        update(t.dossiers)
        .where(t.dossiers.c.code == bindparam("b_code"))
        .values(
            due_at=bindparam("v_due_at", type_=t.dossiers.c.due_at.type),
            documents=bindparam("v_documents", type_=t.dossiers.c.documents.type),
            closed=bindparam("v_closed", type_=t.dossiers.c.closed.type),
        )
    )
    changes = {"v_due_at": AT + dt.timedelta(days=5), "v_documents": ["a", "b"], "v_closed": True}
    with sql.engine.begin() as connection:
        connection.execute(t.dossiers.insert(), _row("BY-SQLALCHEMY"))
        Prepared(t.dossiers.insert()).execute(connection, _row("BY-CURSOR"))
    assert _stored(sql, "BY-CURSOR")[1:] == _stored(sql, "BY-SQLALCHEMY")[1:]

    with sql.engine.begin() as connection:
        plain = update(t.dossiers).where(t.dossiers.c.code == "BY-SQLALCHEMY")
        connection.execute(
            plain.values(due_at=changes["v_due_at"], documents=["a", "b"], closed=True)
        )
        done = prepared_update.execute(connection, {"b_code": "BY-CURSOR", **changes})
        assert done.rowcount == 1
    assert _stored(sql, "BY-CURSOR")[1:] == _stored(sql, "BY-SQLALCHEMY")[1:]

    with sql.engine.connect() as connection:  # and SQLAlchemy reads it back as it was given
        row = connection.execute(select(t.dossiers).where(t.dossiers.c.code == "BY-CURSOR")).one()
    assert row.due_at == AT + dt.timedelta(days=5)
    assert row.received_at == AT
    assert (row.documents, row.closed, row.fee_due) == (["a", "b"], True, True)


def test_many_rows_at_once_and_values_the_statement_carries(sql: SqlStore) -> None:
    insert = Prepared(t.dossiers.insert())
    with sql.engine.begin() as connection:
        insert.execute(connection, [_row("MANY-1"), _row("MANY-2"), _row("MANY-3")])
        count = Prepared(
            select(text("count(*)"))
            .select_from(t.dossiers)
            .where(t.dossiers.c.closed == bindparam("closed", type_=t.dossiers.c.closed.type))
        )
        assert count.scalar(connection, {"closed": False}) == 3
        # a value written into the statement itself (here the new status) is sent too
        close = Prepared(
            update(t.dossiers).where(t.dossiers.c.code == bindparam("b_code")).values(status=9)
        )
        assert close.execute(connection, {"b_code": "MANY-2"}).rowcount == 1
    with sql.engine.connect() as connection:
        statuses = connection.execute(
            select(t.dossiers.c.code, t.dossiers.c.status).order_by(t.dossiers.c.code)
        ).all()
    assert [tuple(r) for r in statuses] == [("MANY-1", 1), ("MANY-2", 9), ("MANY-3", 1)]


def test_a_driver_error_is_raised_as_sqlalchemys_and_writes_nothing(sql: SqlStore) -> None:
    insert = Prepared(t.dossiers.insert())
    with sql.engine.begin() as connection:
        insert.execute(connection, _row("TWICE"))
    with pytest.raises(exc.IntegrityError) as raised, sql.engine.begin() as connection:
        insert.execute(connection, _row("ONCE-MORE"))
        insert.execute(connection, _row("TWICE"))  # the same key: refused by the database
    assert "TWICE" in str(raised.value.params)
    with sql.engine.connect() as connection:
        codes = connection.execute(select(t.dossiers.c.code)).scalars().all()
    assert codes == ["TWICE"]  # the transaction rolled back: ONCE-MORE is not there either


def test_a_missing_parameter_is_named(sql: SqlStore) -> None:
    row = _row("NO-AGENCY")
    del row["agency"]  # an INSERT lists the columns it is given: agency would be NULL
    with pytest.raises(exc.IntegrityError), sql.engine.begin() as connection:
        Prepared(t.dossiers.insert()).execute(connection, row)
    by_code = Prepared(select(t.dossiers.c.version).where(t.dossiers.c.code == bindparam("code")))
    with pytest.raises(exc.InvalidRequestError, match="'code'"), sql.engine.connect() as connection:
        by_code.execute(connection, {"cod": "NO-AGENCY"})


def test_a_statement_needing_sqlalchemys_execution_is_refused(sql: SqlStore) -> None:
    codes = Prepared(
        select(t.dossiers.c.code).where(t.dossiers.c.code.in_(bindparam("codes", expanding=True)))
    )
    with pytest.raises(ValueError, match="not a plain statement"), sql.engine.connect() as c:
        codes.execute(c, {"codes": ["A", "B"]})


def test_sqlite_a_write_lock_held_too_long_is_a_concurrent_update(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE runs on the driver's cursor too: a writer that waited the whole busy
    timeout gets ConcurrentUpdate (reload and retry), as before, not a raw driver error."""
    path = tmp_path / "locked.sqlite3"
    sql = SqlStore(f"sqlite:///{path}", Keyring(bytes(range(32))))
    sql.upgrade()

    @event.listens_for(sql.engine, "connect")
    def _short_wait(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    sql.engine.dispose()  # connections opened from now on wait 50 ms, not 30 s
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConcurrentUpdate, match="reload and try again"), sql.unit_of_work():
            pass
        holder.rollback()
        with sql.unit_of_work() as uow:  # once the lock is free the same store works
            uow.commit()
    finally:
        holder.close()
        sql.close()


def _driver(sql: SqlStore, *, lock: bool = True) -> DriverConnection:
    """A connection of the store's pool as a unit of work opens it."""
    sqlite = sql.engine.dialect.name == "sqlite"
    return DriverConnection(sql.engine, SQLITE_BEGIN[False] if lock and sqlite else None)


def test_rows_read_on_the_driver_are_what_sqlalchemy_reads(sql: SqlStore) -> None:
    with sql.engine.begin() as connection:
        connection.execute(t.dossiers.insert(), [_row("READ-1"), _row("READ-2")])
    everything = select(t.dossiers).order_by(t.dossiers.c.code)
    with sql.engine.connect() as connection:
        expected = [tuple(r) for r in connection.execute(everything)]
    one = Prepared(select(t.dossiers).where(t.dossiers.c.code == bindparam("code")))
    driver = _driver(sql, lock=False)
    try:
        assert Prepared(everything).all(driver, {}) == expected
        found = one.first(driver, {"code": "READ-2"})
        assert found == expected[1]
        assert found is not None and found[one.columns().index("received_at")] == AT
        assert one.first(driver, {"code": "NOWHERE"}) is None
    finally:
        driver.close()


def test_a_driver_transaction_commits_or_rolls_back_whole(sql: SqlStore) -> None:
    insert = Prepared(t.dossiers.insert())
    codes = Prepared(select(t.dossiers.c.code).order_by(t.dossiers.c.code))
    driver = _driver(sql)
    try:
        insert.execute(driver, [_row("GONE-1"), _row("GONE-2")])
        driver.rollback()
    finally:
        driver.close()
    driver = _driver(sql)
    try:
        insert.execute(driver, _row("KEPT"))
        driver.commit()
    finally:
        driver.close()
    assert sql.engine.pool.checkedout() == 0  # close() handed both back to the pool
    reader = _driver(sql, lock=False)
    try:
        assert codes.all(reader, {}) == [("KEPT",)]
    finally:
        reader.close()


def test_a_connection_closed_mid_transaction_keeps_nothing(sql: SqlStore) -> None:
    driver = _driver(sql)
    Prepared(t.dossiers.insert()).execute(driver, _row("HALF"))
    driver.close()  # no commit: the pool rolls it back
    with sql.engine.connect() as connection:
        assert connection.execute(select(t.dossiers.c.code)).all() == []


def _spare_driver(sql: SqlStore) -> DriverConnection:
    """A connection as the store's units of work open it: the spare's if it has one."""
    sqlite = sql.engine.dialect.name == "sqlite"
    return DriverConnection(sql.engine, SQLITE_BEGIN[False] if sqlite else None, sql.spare)


def test_the_next_unit_of_work_takes_the_connection_the_last_gave_back(sql: SqlStore) -> None:
    """SQLite: a unit of work keeps its connection for the next (read-only ones too), holding
    no lock and no snapshot meanwhile; PostgreSQL's go back to the pool, which recycles them.
    The store's close gives the spare back."""
    sqlite = sql.engine.dialect.name == "sqlite"
    with sql.unit_of_work() as uow:
        first = uow.connection.connection.dbapi_connection
        uow.commit()
    assert sql.engine.pool.checkedout() == (1 if sqlite else 0)
    with sql.reading() as reading:
        assert reading.connection.connection.dbapi_connection is first or not sqlite
    with sql.unit_of_work() as uow:
        assert uow.connection.connection.dbapi_connection is first or not sqlite
        Prepared(t.dossiers.insert()).execute(uow.connection, _row("AFTER"))
        uow.commit()
    if sqlite:  # another writer takes the write lock at once, and a checkpoint waits for no one
        path = sql.engine.url.database
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        assert sql.checkpointer is not None
        try:
            with sql.checkpointer.paused():  # (the store's own checkpoints would be one)
                assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
        finally:
            other.close()
    assert _stored(sql, "AFTER")[0] == "AFTER"
    sql.spare.close()
    assert sql.engine.pool.checkedout() == 0


def test_a_connection_left_in_a_transaction_or_invalidated_is_not_kept(sql: SqlStore) -> None:
    driver = _spare_driver(sql)
    Prepared(t.dossiers.insert()).execute(driver, _row("HALF"))
    driver.close()  # no commit: back to the pool, which rolls it back
    assert sql.spare.take() is None
    assert sql.engine.pool.checkedout() == 0
    with sql.engine.connect() as connection:
        assert connection.execute(select(t.dossiers.c.code)).all() == []
    driver = _spare_driver(sql)
    driver.commit()
    driver.invalidate()
    driver.close()
    assert sql.spare.take() is None
    assert sql.engine.pool.checkedout() == 0


def test_units_of_work_at_the_same_time_keep_one_spare_at_most(sql: SqlStore) -> None:
    sqlite = sql.engine.dialect.name == "sqlite"
    first, second = _spare_driver(sql), DriverConnection(sql.engine, spare=sql.spare)
    assert first.connection.dbapi_connection is not second.connection.dbapi_connection
    first.commit()
    first.close()
    second.close()
    assert sql.engine.pool.checkedout() == (1 if sqlite else 0)
    kept = sql.spare.take()
    assert (kept is not None) == sqlite
    if kept is not None:
        assert kept.dbapi_connection is first.connection.dbapi_connection
        kept.close()


def test_only_an_sqlite_files_pool_keeps_a_spare(tmp_path: Path) -> None:
    """An in-memory database is one database and one connection per thread: never handed to
    another thread as a spare."""
    memory, file = create_engine("sqlite://"), create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        assert not Spare(memory).keep
        assert Spare(file).keep
    finally:
        memory.dispose()
        file.dispose()
