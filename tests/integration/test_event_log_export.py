"""Exporting the engine's history as an event log: content, streaming on both stores, and a
file that appears whole or not at all. (pm4py reading it: ``test_pm4py_crosscheck``.)"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from adapters.eventlog import read_log
from adapters.eventlog.writer import export_history
from adapters.store.pii import Keyring
from adapters.store.store import SqlStore
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from tests.integration.conftest import SECRET, postgres_store, sqlite_store
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import StoreError
from workflow.history import NAT, to_us
from workflow.services import Act, Submit, act, submit

LINKED = "2.000986"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
IDENTITY = "001203000123"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN)


def make_history(store: SqlStore, catalogue: Catalogue, officer: Actor) -> tuple[int, int]:
    """Six dossiers through the engine, at various points of their life: (dossiers, rows)."""
    clock = FixedClock(START)
    engine = Engine(catalogue, clock, load_calendar())
    rows = 0
    for number in range(6):
        command = Submit(
            LINKED,
            "online" if number % 2 else "counter",
            f"APPLICANT-REF-{number}",
            officer,
            documents=PAPERS,
            applicant_id=IDENTITY,
        )
        code = submit(command, store.unit_of_work(), engine).code
        rows += 1
        for trigger in ("accept", "hand_over")[: number % 3]:
            clock.advance(hours=2, minutes=number)
            act(Act(code, trigger, officer), store.unit_of_work(), engine)
            rows += 1
        clock.advance(minutes=37)
    return 6, rows


def test_the_csv_export_has_one_row_per_control_sheet_row(
    tmp_path: Path, catalogue: Catalogue, officer: Actor
) -> None:
    store = sqlite_store(tmp_path)
    make_history(store, catalogue, officer)
    written = export_history(store.engine, tmp_path / "history.csv", "csv")
    store.close()
    with (tmp_path / "history.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert (written.cases, written.events, len(rows)) == (6, 12, 12)
    first = rows[0]
    assert first["case:concept:name"] == "000.00.71.H26-260302-0001"
    assert first["case:procedure"] == LINKED and first["case:procedure_version"] == "2025"
    assert first["case:channel"] == "counter"
    assert first["case:received_at"] == first["time:timestamp"] == "2026-03-02T09:00:00+07:00"
    assert first["concept:name"] == "submitted" and first["trigger"] == "receive"
    assert first["lifecycle:transition"] == "complete" and first["status"] == "1"
    assert first["org:resource"] == officer.principal and first["org:group"] == officer.agency
    accepted = next(row for row in rows if row["concept:name"] == "accepted")
    assert accepted["case:deadline"].endswith("+07:00")


def test_the_xes_export_reads_back_with_the_default_mapping(
    tmp_path: Path, catalogue: Catalogue, officer: Actor
) -> None:
    store = sqlite_store(tmp_path)
    make_history(store, catalogue, officer)
    export_history(store.engine, tmp_path / "history.xes", "xes")
    export_history(store.engine, tmp_path / "history.csv.gz", "csv")
    store.close()
    from_xes = read_log(tmp_path / "history.xes")
    from_csv = read_log(tmp_path / "history.csv.gz")
    assert from_xes.case_id == from_csv.case_id and len(from_xes) == len(from_csv) == 12
    assert from_xes.at[0] == to_us(START)
    assert from_xes.activity.names == ("accepted", "birth_registration", "submitted")
    assert list(from_xes.deadline) == list(from_csv.deadline)
    assert (from_xes.deadline != NAT).sum() == 4  # the accepted ones have a due instant


def test_a_failed_export_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "history.xes"
    target.write_text("the previous export\n", encoding="utf-8")
    unmigrated = SqlStore(f"sqlite:///{tmp_path / 'empty.sqlite3'}", Keyring(SECRET))
    with pytest.raises(StoreError):
        export_history(unmigrated.engine, target, "xes")
    unmigrated.close()
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3", "history.xes"]
    with pytest.raises(FileNotFoundError):
        export_history(unmigrated.engine, tmp_path / "absent" / "history.xes", "xes")


def test_the_cli_exports_the_configured_store(tmp_path: Path) -> None:
    env = {"LIENTHONG_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    runner = CliRunner()
    result = runner.invoke(app, ["export", "xes", str(tmp_path / "h.xes.gz")], env=env)
    assert result.exit_code == 0, result.output
    assert "wrote 0 dossiers and 0 control-sheet rows" in result.stdout
    assert (tmp_path / "h.xes.gz").stat().st_mode & 0o777 == 0o644
    missing = runner.invoke(app, ["export", "csv", str(tmp_path / "no" / "h.csv")], env=env)
    assert missing.exit_code == 2
    assert "cannot write" in missing.stderr and "check that its folder exists" in missing.stderr


def test_postgres_streams_the_export(
    pg_database: str, tmp_path: Path, catalogue: Catalogue, officer: Actor
) -> None:
    store, drop = postgres_store(pg_database)
    try:
        make_history(store, catalogue, officer)
        written = export_history(store.engine, tmp_path / "history.xes.gz", "xes")
    finally:
        store.close()
        drop()
    assert (written.cases, written.events) == (6, 12)
    assert read_log(tmp_path / "history.xes.gz").case_count == 6
