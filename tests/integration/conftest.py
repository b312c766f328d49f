"""Backends for the store's contract suite: in memory, SQLite, and a real PostgreSQL.

PostgreSQL tests read ``LIENTHONG_TEST_DATABASE_URL``. Without it they skip, saying why; with it
they must run, and fail if the server cannot be reached. Each test run gets its own database, and
each test its own schema in it, so that runs and tests never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kombu.connection import Connection
from sqlalchemy import create_engine, make_url, select, text

from adapters.store import tables as t
from adapters.store.database import make_engine
from adapters.store.memory import MemoryStore
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from workflow.ports import UnitOfWork

SECRET = bytes(range(32))
PG_VARIABLE = "LIENTHONG_TEST_DATABASE_URL"
BROKER_VARIABLE = "LIENTHONG_TEST_BROKER_URL"


def broker_url() -> str:
    """The test RabbitMQ: skip (saying why) without the variable, fail if it is unreachable."""
    url = os.environ.get(BROKER_VARIABLE)
    if not url:
        pytest.skip(f"{BROKER_VARIABLE} is not set: RabbitMQ tests need a broker (CI sets it)")
    try:
        with Connection(url, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        pytest.fail(f"RabbitMQ at {url} is unreachable: {error}")
    return url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this test run on the PostgreSQL of LIENTHONG_TEST_DATABASE_URL."""
    base = os.environ.get(PG_VARIABLE)
    if not base:
        pytest.skip(f"{PG_VARIABLE} is not set: PostgreSQL tests need a server (CI sets it)")
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"lienthong_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL at {url.render_as_string()} is unreachable: {error}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Backend:
    """One store under test: how to make units of work, and the SQL store if there is one."""

    name: str
    uow: Callable[[], UnitOfWork]
    sql: SqlStore | None = None
    memory: MemoryStore | None = None

    def outbox(self) -> list[tuple[str, str, str, str]]:
        """Committed outbox messages: (dossier, from agency, to agency, service), in order."""
        if self.memory is not None:
            return [
                (m.dossier_code, m.from_agency, m.to_agency, m.service.value)
                for m in self.memory.outbox
            ]
        assert self.sql is not None
        with self.sql.engine.connect() as connection:
            rows = connection.execute(
                select(
                    t.outbox.c.dossier_code,
                    t.outbox.c.from_agency,
                    t.outbox.c.to_agency,
                    t.outbox.c.service,
                ).order_by(t.outbox.c.id)
            ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


def sqlite_store(directory: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{directory / 'store.sqlite3'}", Keyring(SECRET))
    store.upgrade()
    return store


def postgres_store(database_url: str) -> tuple[SqlStore, Callable[[], None]]:
    """A store in a new schema of the run's database; and how to drop that schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = SqlStore(database_url, Keyring(SECRET), engine=engine)
    store.upgrade()

    def drop() -> None:
        engine.dispose()
        cleanup = make_engine(database_url)
        with cleanup.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        cleanup.dispose()

    return store, drop


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Backend("memory", memory.unit_of_work, memory=memory)
    elif request.param == "sqlite":
        store = sqlite_store(tmp_path)
        yield Backend("sqlite", store.unit_of_work, store)
        store.close()
    else:
        store, drop = postgres_store(request.getfixturevalue("pg_database"))
        yield Backend("postgres", store.unit_of_work, store)
        drop()


@pytest.fixture(params=["sqlite", "postgres"])
def sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """Only the SQL backends."""
    if request.param == "sqlite":
        store = sqlite_store(tmp_path)
        yield store
        store.close()
    else:
        store, drop = postgres_store(request.getfixturevalue("pg_database"))
        yield store
        drop()
