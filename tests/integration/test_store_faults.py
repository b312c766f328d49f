"""Faults: a process killed mid-transaction, a database that is down."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import exc
from typer.testing import CliRunner

from adapters.cli import app
from adapters.store.pii import Keyring
from adapters.store.prepared import DriverConnection
from adapters.store.store import SqlStore
from workflow.errors import DossierNotFound, StoreUnavailable

CHILD = textwrap.dedent(
    """
    import datetime as dt, os, sys, time
    from adapters.store.database import make_engine
    from adapters.store.pii import Keyring
    from adapters.store.store import SqlStore
    from procedures import load_catalogue
    from workflow.dossier import Actor
    from workflow.engine import Engine
    from tests.conftest import FixedClock, VN

    url, schema = os.environ["STORE_URL"], os.environ.get("STORE_SCHEMA")
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    store = SqlStore(url, Keyring(bytes(range(32))), engine=make_engine(url, **options))
    engine = Engine(load_catalogue(), FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN)))
    officer = Actor("officer", "000.00.71.H26")
    with store.unit_of_work() as uow:
        code = uow.next_code("000.00.71.H26", dt.date(2026, 3, 2))
        dossier = engine.open(code=code, procedure="2.000986", channel="online",
                              applicant_ref="R", actor=officer)
        uow.dossiers.add(dossier)
        tracked = uow.dossiers.tracked[code]
        uow._save(uow.connection, tracked)  # rows written, transaction still open
        print("written, not committed", flush=True)
        time.sleep(60)
    """
)


def _schema_of(sql: SqlStore) -> str | None:
    with sql.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            return None
        return str(connection.exec_driver_sql("SELECT current_schema()").scalar_one())


def test_a_process_killed_mid_transaction_leaves_no_partial_dossier(sql: SqlStore) -> None:
    schema = _schema_of(sql)
    env = {**os.environ, "STORE_URL": sql.url}
    if schema:
        env["STORE_SCHEMA"] = schema
    with subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            line = child.stdout.readline()
            if line.strip() != "written, not committed":
                child.kill()
                pytest.fail(f"the child did not reach the open transaction: {child.stderr.read()}")
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == -signal.SIGKILL
    assert sql.count_dossiers() == 0
    report = sql.verify()
    assert (report.dossiers, report.events, report.broken) == (0, 0, None)
    with sql.unit_of_work() as uow:  # the killed transaction's code was not consumed either
        import datetime as dt  # noqa: PLC0415

        assert uow.next_code("000.00.71.H26", dt.date(2026, 3, 2)).endswith("-0001")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        "sqlite:////nonexistent-dir-for-lienthong/x/../../proc/self/cannot.sqlite3",
    ],
)
def test_a_database_that_is_down_gives_a_clear_error(url: str) -> None:
    store = SqlStore(url, Keyring(bytes(range(32))))
    with pytest.raises(StoreUnavailable) as caught:
        store.count_dossiers()
    message = str(caught.value)
    assert "cannot reach the database" in message or "failed" in message
    assert "LIENTHONG_DATABASE_URL" in message or "database at" in message
    # a unit of work, whose transaction runs on the driver, says the same
    with pytest.raises(StoreUnavailable, match="cannot reach the database"), store.unit_of_work():
        pass
    with pytest.raises(exc.OperationalError):  # the driver's error, as SQLAlchemy raises it
        DriverConnection(store.engine)


def test_the_cli_reports_a_down_database_without_a_traceback(tmp_path: object) -> None:
    result = CliRunner().invoke(
        app,
        ["audit", "verify"],
        env={
            "LIENTHONG_DATABASE_URL": "postgresql+psycopg://postgres:secret@127.0.0.1:1/x",
            "LIENTHONG_VAR_DIR": str(tmp_path),
        },
    )
    assert result.exit_code == 2
    assert "cannot reach the database at postgresql+psycopg://postgres:***@127.0.0.1:1/x" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_a_dropped_connection_fails_one_unit_of_work_then_reconnects(pg_database: str) -> None:
    from sqlalchemy import text  # noqa: PLC0415

    from adapters.store.database import make_engine  # noqa: PLC0415
    from tests.integration.conftest import postgres_store  # noqa: PLC0415

    store, drop = postgres_store(pg_database)
    try:
        assert store.count_dossiers() == 0  # a pooled connection now exists
        other = make_engine(pg_database)
        with other.connect() as killer:  # the server drops every other connection
            killer.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        other.dispose()
        with pytest.raises(StoreUnavailable, match="cannot reach the database"):
            store.count_dossiers()
        assert store.count_dossiers() == 0  # the pool reconnected
    finally:
        drop()


def test_a_dropped_connection_fails_one_action_then_the_next_reconnects(
    pg_database: str,
) -> None:
    """The same through a unit of work, whose transaction runs on the driver: the action that
    finds its connection dropped fails with StoreUnavailable, and the pool opens a new one."""
    from sqlalchemy import text  # noqa: PLC0415

    from adapters.store.database import make_engine  # noqa: PLC0415
    from tests.integration.conftest import postgres_store  # noqa: PLC0415

    store, drop = postgres_store(pg_database)
    try:
        with store.unit_of_work() as uow:  # a pooled connection now exists
            code = uow.next_code("000.00.71.H26", dt.date(2026, 3, 2))
            uow.commit()
        other = make_engine(pg_database)
        with other.connect() as killer:
            killer.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        other.dispose()
        with (
            pytest.raises(StoreUnavailable, match="cannot reach the database"),
            store.unit_of_work() as uow,
        ):
            uow.dossiers.get(code)
        with store.unit_of_work() as uow, pytest.raises(DossierNotFound):
            uow.dossiers.get(code)  # reconnected: the query runs (no such dossier was saved)
        assert store.engine.pool.checkedout() == 0
    finally:
        drop()
