"""The store's commands: ``run`` creates the embedded store, ``db upgrade``, ``audit verify``."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from adapters.bootstrap import bootstrap
from adapters.cli import app
from adapters.store import tables as t
from tests.conftest import VN, FixedClock
from workflow.dossier import Actor
from workflow.services import Act, Submit, act, submit

runner = CliRunner()


def test_run_creates_the_embedded_store_under_var(own_var: Path) -> None:
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 0, result.stderr
    assert (own_var / "lienthong.sqlite3").exists()
    assert "schema current, 0 dossiers" in result.stdout
    key = own_var / "secret.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = runner.invoke(app, ["run"])  # a second start finds everything in place
    assert again.exit_code == 0


def test_db_upgrade_and_audit_verify(own_var: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.stderr
    assert "at revision 0003; 20 new procedure versions frozen" in result.stdout

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
