"""A real ``lienthong serve`` (uvicorn on a free loopback port) for the end-to-end API tests, on
an embedded SQLite store or on a schema of its own in the test run's PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from adapters.api.client import wait_until_up
from adapters.bootstrap import App, Settings, bootstrap, open_store
from adapters.store import tables as t
from adapters.store.database import make_engine
from adapters.store.principals import Role, create_principal
from adapters.store.store import SqlStore

WARD, COUNTER, POLICE, INSURANCE = (
    "000.00.71.H26",
    "000.01.71.H26",
    "000.09.71.H26",
    "000.08.71.H26",
)
CITY = "000.00.00.H26"
#: the principals every test server has: name -> (role, agency)
PRINCIPALS = {
    "ward": (Role.OFFICER, WARD),
    "police": (Role.OFFICER, POLICE),
    "insurance": (Role.OFFICER, INSURANCE),
    "supervisor": (Role.SUPERVISOR, WARD),
    "planner": (Role.PLANNER, CITY),
    "admin": (Role.ADMIN, CITY),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running API: its address, a token per principal, its store, and what it printed."""

    url: str
    tokens: dict[str, str]
    store: SqlStore
    output: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def count(self, **where: str) -> int:
        """Dossiers in the store matching column=value filters."""
        columns = t.dossiers.c
        query = select(func.count()).select_from(t.dossiers)
        for name, value in where.items():
            query = query.where(columns[name] == value)
        with self.store.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def printed(self) -> str:
        return self.output.read_text(errors="replace")


def postgres_schema_url(database_url: str) -> tuple[str, str]:
    """A new schema in the run's database, and a URL whose connections use it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in database_url else "?"
    return f"{database_url}{joiner}options=-csearch_path%3D{schema}", schema


def drop_schema(database_url: str, schema: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server per test module, on SQLite and on a schema of the run's PostgreSQL database."""
    with serving(request, tmp_path_factory, "api") as server:
        yield server


@contextmanager
def serving(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    prepare: Callable[[App], None] | None = None,
) -> Iterator[Server]:
    """A server on the backend named by ``request.param`` (sqlite or postgres)."""
    folder = tmp_path_factory.mktemp(f"{name}-{request.param}")
    if request.param == "sqlite":
        with running(folder, prepare=prepare) as server:
            yield server
        return
    database = request.getfixturevalue("pg_database")
    url, schema = postgres_schema_url(database)
    try:
        with running(folder, url, prepare) as server:
            yield server
    finally:
        drop_schema(database, schema)


@contextmanager
def running(
    folder: Path, database_url: str | None = None, prepare: Callable[[App], None] | None = None
) -> Iterator[Server]:
    """Migrate the store, create the principals (and ``prepare`` it: seed a history, say),
    start ``lienthong serve``; stop it after."""
    env = {
        **os.environ,
        "LIENTHONG_VAR_DIR": str(folder / "var"),
        "PYTHONPATH": str(Path.cwd()),
    }
    env.pop("LIENTHONG_DATABASE_URL", None)
    env.pop("LIENTHONG_BROKER_URL", None)
    if database_url is not None:
        env["LIENTHONG_DATABASE_URL"] = database_url
    settings = Settings.from_env(env)
    store = open_store(settings)
    store.upgrade()
    app = bootstrap(settings)
    now = dt.datetime.now(dt.UTC)
    tokens = {}
    for name, (role, agency) in PRINCIPALS.items():
        _, tokens[name] = create_principal(
            app.store.engine, name=name, agency=agency, role=role, now=now
        )
    if prepare is not None:
        prepare(app)
    app.store.close()
    port = free_port()
    output = folder / "server.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(url, alive=lambda: process.poll() is None)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}: {output.read_text(errors='replace')}") from None
        yield Server(url, tokens, store, output, process, env)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        store.close()
