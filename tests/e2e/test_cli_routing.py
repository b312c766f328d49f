"""The routing commands on the embedded defaults: ``worker``, ``serve``, ``messages``,
``reorganise``; agency keys are created under ``var/keys`` on first start."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from adapters.bootstrap import bootstrap
from adapters.cli import app
from adapters.store import tables as t
from workflow.calendar import VIETNAM
from workflow.dossier import Actor
from workflow.services import Act, Submit, act, submit

runner = CliRunner()
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
WARD, POLICE = "000.00.71.H26", "000.09.71.H26"


def _handed_over() -> str:
    """A linked dossier handed from the ward to the police, its message in the outbox."""
    application = bootstrap()
    officer = Actor("officer", WARD)
    store, engine = application.store, application.engine
    command = Submit("2.000986", "online", "REF", officer, documents=PAPERS)
    code = submit(command, store.unit_of_work(), engine).code
    for trigger in ("accept", "hand_over", "hand_over"):
        act(Act(code, trigger, officer), store.unit_of_work(), engine)
    store.close()
    return code


def _message_rows(var: Path) -> tuple[list[object], list[object]]:
    application = bootstrap()
    with application.store.engine.connect() as connection:
        sent = list(connection.execute(select(t.outbox.c.acknowledged_at)).scalars())
        received = list(connection.execute(select(t.inbox.c.to_agency)).scalars())
    application.store.close()
    return sent, received


def test_workers_deliver_a_hand_over_with_its_receipt(own_var: Path) -> None:
    _handed_over()
    ward = runner.invoke(app, ["worker", "--agency", WARD, "--once", "--idle", "0.2"])
    assert ward.exit_code == 0, ward.stderr
    assert "published 1" in ward.stdout
    police = runner.invoke(app, ["worker", "--agency", POLICE, "--once", "--idle", "0.5"])
    assert police.exit_code == 0, police.stderr
    assert "handled 1" in police.stdout
    again = runner.invoke(app, ["worker", "--agency", WARD, "--once", "--idle", "0.5"])
    assert "handled 1" in again.stdout  # the police's receipt
    sent, received = _message_rows(own_var)
    assert received == [POLICE] and sent[0] is not None
    key = own_var / "keys" / f"{POLICE}.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (own_var / "keys" / f"{POLICE}.pub").exists()


def test_serve_runs_every_agency_in_process(own_var: Path) -> None:
    _handed_over()
    result = runner.invoke(app, ["serve", "--once", "--idle", "0.5"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["serve", "--once", "--idle", "0.5"])  # the receipt
    sent, received = _message_rows(own_var)
    assert received == [POLICE] and sent[0] is not None


def test_an_unknown_agency_is_named(own_var: Path) -> None:
    result = runner.invoke(app, ["worker", "--agency", "999.99.99.H26", "--once"])
    assert result.exit_code == 2
    assert "unknown agency code '999.99.99.H26'" in result.stderr
    assert "Traceback" not in result.stderr


def test_messages_undeliverable_lists_nothing_when_all_is_well(own_var: Path) -> None:
    result = runner.invoke(app, ["messages", "undeliverable"])
    assert result.exit_code == 0, result.stderr
    assert "Undeliverable messages: 0" in result.stdout


def test_reorganise_on_a_day_with_nothing_open(own_var: Path) -> None:
    result = runner.invoke(app, ["reorganise"])
    assert result.exit_code == 0, result.stderr
    assert "0 open dossiers handed to successors" in result.stdout
    assert dt.datetime.now(VIETNAM).date().isoformat() in result.stdout
