"""The store's commands: ``run`` creates the embedded store, ``db upgrade``, ``db page-size``,
``audit verify``."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from adapters.api.client import wait_until_up
from adapters.bootstrap import bootstrap
from adapters.cli import app
from adapters.cli.api import dashboard_hint
from adapters.store import tables as t
from adapters.store.dossier_queries import last_activity
from tests.conftest import VN, FixedClock
from tests.e2e.api_server import free_port
from workflow.dossier import Actor
from workflow.services import Act, Submit, act, submit

runner = CliRunner()


def _run_once(var: Path, *options: str, broker: str | None = None) -> str:
    """Start ``lienthong run`` (the main job), wait until the API answers, stop it; its output.
    ``broker``: a LIENTHONG_BROKER_URL to give it (none by default; with one that cannot be
    reached, /health says so with a 503, so readiness is the API's schema answering)."""
    port = free_port()
    env = {**os.environ, "LIENTHONG_VAR_DIR": str(var), "PYTHONPATH": str(Path.cwd())}
    env.pop("LIENTHONG_BROKER_URL", None)
    if broker is not None:
        env["LIENTHONG_BROKER_URL"] = broker
    output = var.parent / f"run-{port}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "run", "--port", str(port), *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until_up(
            f"http://127.0.0.1:{port}",
            path="/health" if broker is None else "/openapi.json",
            alive=lambda: process.poll() is None,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    return output.read_text()


def test_run_serves_the_api_on_the_embedded_store_with_demo_tokens(own_var: Path) -> None:
    # an empty store is seeded with a (here: small) demo history first
    printed = _run_once(own_var, "--demo-days", "3", "--demo-per-day", "4")
    assert (own_var / "lienthong.sqlite3").exists()
    assert "seeding it with a demo history" in printed and "dossiers submitted" in printed
    assert "10 procedures, 21 agencies" in printed
    assert int(re.findall(r"sqlite3\), (\d+) dossiers", printed)[0]) > 0
    assert "Uvicorn running" in printed
    # the demo's history is in the past: a link to the board as it stood at its end
    [link] = re.findall(r"the board as it stood then is (\S+)", printed)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/dashboard\?at=2025-05-0\d.*%2B07%3A00", link)
    tokens = re.findall(r"lt_[0-9a-f]{12}_[A-Za-z0-9_-]+", printed)
    assert len(set(tokens)) == 7  # demo officers, supervisor, planner, admin
    assert f"their tokens are kept in {own_var / 'demo-tokens.json'}" in printed
    for name in ("secret.key", "demo-tokens.json"):
        assert stat.S_IMODE(os.stat(own_var / name).st_mode) == 0o600
    again = _run_once(own_var)  # a second start finds everything in place, same tokens
    assert "seeding" not in again
    assert set(re.findall(r"lt_[0-9a-f]{12}_[A-Za-z0-9_-]+", again)) == set(tokens)
    for name in ("lienthong.sqlite3", "lienthong.sqlite3-wal", "lienthong.sqlite3-shm"):
        (own_var / name).unlink(missing_ok=True)  # a new store: the old tokens mean nothing
    without = _run_once(own_var, "--no-demo")
    assert "seeding" not in without and re.findall(r"sqlite3\), (\d+) dossiers", without) == ["0"]
    assert "/dashboard (log in with" in without and "as it stood then" not in without
    fresh = set(re.findall(r"lt_[0-9a-f]{12}_[A-Za-z0-9_-]+", without))
    assert len(fresh) == 7 and not fresh & set(tokens)


def test_db_upgrade_and_audit_verify(own_var: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.stderr
    assert "at revision 0009; 20 new procedure versions frozen" in result.stdout

    application = bootstrap(clock=FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN)))
    officer = Actor("officer", "000.00.71.H26")
    command = Submit(
        "1.001193", "counter", "REF", officer, documents=("declaration", "birth_certificate")
    )
    code = submit(command, application.store.unit_of_work(), application.engine).code
    act(Act(code, "accept", officer), application.store.unit_of_work(), application.engine)

    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "chain intact: 1 dossiers, 2 events" in result.stdout

    with application.store.engine.begin() as connection:
        connection.execute(update(t.events).where(t.events.c.seq == 2).values(actor="someone"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"broken link: dossier {code}, event 2: its content was changed" in result.stderr


def test_the_dashboard_hint_links_the_end_of_a_past_history_only(own_var: Path) -> None:
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))
    application = bootstrap(clock=clock)
    base = "http://127.0.0.1:8000"
    assert dashboard_hint(application, base).endswith("(log in with the supervisor's token)")
    officer = Actor("officer", "000.00.71.H26")
    command = Submit(
        "1.001193", "counter", "REF", officer, documents=("declaration", "birth_certificate")
    )
    code = submit(command, application.store.unit_of_work(), application.engine).code
    clock.advance(hours=2)
    act(Act(code, "accept", officer), application.store.unit_of_work(), application.engine)
    assert last_activity(application.store.engine) == clock.now()
    recent = dashboard_hint(application, base, now=clock.now() + dt.timedelta(hours=23))
    assert "as it stood then" not in recent
    later = dashboard_hint(application, base, now=clock.now() + dt.timedelta(days=2))
    assert later.endswith(
        "the history ends on 02/03/2026 11:00: the board as it stood then is "
        f"{base}/dashboard?at=2026-03-02T11%3A00%3A00%2B07%3A00"
    )


def test_run_seeds_no_demo_when_a_broker_is_configured(own_var: Path) -> None:
    # the demo would publish its made-up hand-overs to the broker's agency queues; the API
    # still starts when the broker cannot be reached (health says so), so none is needed here
    printed = _run_once(own_var, broker=f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    assert "A broker is configured: no demo history" in printed
    assert "seeding" not in printed
    assert re.findall(r"sqlite3\), (\d+) dossiers", printed) == ["0"]


def test_db_page_size_shows_and_rewrites_the_store_file(
    own_var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    path = own_var / "lienthong.sqlite3"
    result = runner.invoke(app, ["db", "page-size"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{path}: 2048-byte pages, as new files get"

    path.unlink()
    older = sqlite3.connect(path)  # a file an earlier version made: 4 KiB pages
    older.execute("PRAGMA page_size=4096")
    older.execute("PRAGMA journal_mode=WAL")
    older.close()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["db", "page-size"])
    assert "4096-byte pages (new files get 2048; `lienthong db page-size 2048`" in result.stdout

    result = runner.invoke(app, ["db", "page-size", "3000"])
    assert result.exit_code == 2
    assert "error: 3000 is not a page size SQLite accepts" in result.stderr

    result = runner.invoke(app, ["db", "page-size", "2048"])
    assert result.exit_code == 0, result.stderr
    assert re.search(
        rf"^{re.escape(str(path))}: rewritten from 4096- to 2048-byte pages \([\d,]+ to [\d,]+ "
        r"bytes\), integrity check ok$",
        result.stdout.strip(),
    )
    result = runner.invoke(app, ["db", "page-size", "2048"])
    assert result.stdout.strip() == f"{path}: already 2048-byte pages; nothing to do"
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

    monkeypatch.setenv("LIENTHONG_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    result = runner.invoke(app, ["db", "page-size"])
    assert result.exit_code == 2 and "is not an SQLite store" in result.stderr
