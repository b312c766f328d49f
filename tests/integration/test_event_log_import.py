"""Importing real event logs into the store: counts, round trips, all or nothing, names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from adapters.cli import app
from adapters.eventlog.importer import import_log
from adapters.store import tables as t
from adapters.store.event_logs import LogExists, UnknownLog, list_logs, load_log, store_log
from adapters.store.store import SqlStore
from tests.integration.conftest import postgres_store, sqlite_store
from tests.unit.test_eventlog_reader import SMALL_CSV, assert_same_log
from workflow.errors import InvalidLog, StoreError
from workflow.history import NAT, EventLog

DATA = Path(__file__).resolve().parent.parent / "data"
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = sqlite_store(tmp_path)
    yield store
    store.close()


def counts(engine: Engine) -> tuple[int, int, int]:
    """Rows in event_logs, log_cases and log_events."""
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (t.event_logs, t.log_cases, t.log_events)
        )


@pytest.mark.parametrize(
    ("file", "cases", "events", "activities"),
    [
        ("receipt.csv", 1434, 8577, 27),
        ("receipt.xes.gz", 1434, 8577, 27),
        ("BPIC15_1.csv.gz", 1199, 52217, 398),
    ],
)
def test_real_logs_import_whole_and_load_back_the_same(
    store: SqlStore, file: str, cases: int, events: int, activities: int
) -> None:
    stored, log = import_log(store.engine, DATA / file, now=NOW)
    assert (stored.cases, stored.events, len(log.activity.names)) == (cases, events, activities)
    assert counts(store.engine) == (1, cases, events)
    assert_same_log(load_log(store.engine, stored.name), log)
    [listed] = list_logs(store.engine)
    assert listed == stored
    assert listed.source == file and len(listed.sha256) == 64
    assert listed.mapping["case"] == "case:concept:name"


def test_the_csv_and_xes_of_the_wabo_log_import_the_same(store: SqlStore) -> None:
    import_log(store.engine, DATA / "receipt.csv", now=NOW, name="wabo-csv")
    import_log(store.engine, DATA / "receipt.xes.gz", now=NOW, name="wabo-xes")
    from_csv, from_xes = load_log(store.engine, "wabo-csv"), load_log(store.engine, "wabo-xes")
    assert from_csv.case_id == from_xes.case_id
    assert_same_log(from_csv, dataclasses.replace(from_xes, name="wabo-csv"))
    assert {log.format for log in list_logs(store.engine)} == {"csv", "xes"}


def test_a_bad_timestamp_on_the_last_line_imports_nothing(store: SqlStore, tmp_path: Path) -> None:
    lines = (DATA / "receipt.csv").read_text(encoding="utf-8").splitlines()
    head, _, stamp = lines[-1].rpartition(",")
    lines[-1] = f"{head},{stamp[:-6]}+25:00"  # an offset no clock has
    broken = tmp_path / "receipt.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidLog, match=r"receipt\.csv, line 8578, column 'time:timestamp'"):
        import_log(store.engine, broken, now=NOW)
    assert counts(store.engine) == (0, 0, 0)


def test_a_name_is_imported_once_unless_replaced(store: SqlStore, tmp_path: Path) -> None:
    import_log(store.engine, DATA / "receipt.csv", now=NOW)
    small = tmp_path / "receipt.csv"  # same name, another content
    small.write_text(SMALL_CSV, encoding="utf-8")
    with pytest.raises(LogExists, match=r"a log named 'receipt' is already stored.*--replace"):
        import_log(store.engine, small, now=NOW)
    assert counts(store.engine) == (1, 1434, 8577)
    later = NOW + dt.timedelta(days=1)
    stored, log = import_log(store.engine, small, now=later, replace=True)
    assert (stored.cases, stored.events) == (2, 5)
    assert counts(store.engine) == (1, 2, 5)
    assert_same_log(load_log(store.engine, "receipt"), log)
    [listed] = list_logs(store.engine)
    assert listed.imported_at == later


def test_an_unknown_log_lists_the_known_ones(store: SqlStore) -> None:
    with pytest.raises(UnknownLog, match="no stored log named 'wabo'; stored logs: none"):
        load_log(store.engine, "wabo")
    import_log(store.engine, DATA / "receipt.csv", now=NOW)
    with pytest.raises(UnknownLog, match="stored logs: receipt"):
        load_log(store.engine, "wabo")


def test_names_and_values_too_long_for_the_store_are_refused_before_writing(
    store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV.replace("alice", "a" * 200), encoding="utf-8")
    with pytest.raises(InvalidLog, match=r"the resource 'aaa.*has 200 characters"):
        import_log(store.engine, path, now=NOW)
    with pytest.raises(InvalidLog, match="must have 1 to 64 characters"):
        import_log(store.engine, DATA / "receipt.csv", now=NOW, name="x" * 65)
    assert counts(store.engine) == (0, 0, 0)


def test_the_cli_imports_a_log_and_refuses_it_twice(tmp_path: Path) -> None:
    shutil.copy(DATA / "receipt.xes.gz", tmp_path / "wabo.xes.gz")
    env = {"LIENTHONG_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    runner = CliRunner()
    result = runner.invoke(app, ["import-log", str(tmp_path / "wabo.xes.gz")], env=env)
    assert result.exit_code == 0, result.output
    assert "event log 'wabo' from wabo.xes.gz" in result.stdout
    assert "1,434" in result.stdout and "8,577" in result.stdout
    again = runner.invoke(app, ["import-log", str(tmp_path / "wabo.xes.gz")], env=env)
    assert again.exit_code == 2
    assert "a log named 'wabo' is already stored" in again.stderr
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("case: Dossier\n", encoding="utf-8")
    wrong = runner.invoke(
        app,
        ["import-log", str(DATA / "receipt.csv"), "--mapping", str(mapping), "--name", "x"],
        env=env,
    )
    assert wrong.exit_code == 2
    assert "receipt.csv: no column for case ('Dossier')" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_postgres_imports_the_wabo_log_all_or_nothing(pg_database: str) -> None:
    store, drop = postgres_store(pg_database)
    try:
        stored, log = import_log(store.engine, DATA / "receipt.csv", now=NOW)
        assert (stored.cases, stored.events) == (1434, 8577)
        assert counts(store.engine) == (1, 1434, 8577)
        assert_same_log(load_log(store.engine, "receipt"), log)
        # PostgreSQL refuses a NUL in text: the replacing import fails after deleting the old
        # rows and writing most new ones, and the transaction leaves the old log whole
        poisoned = _with_activity(log, len(log) - 1, "Decide\x00")
        with pytest.raises(StoreError, match="the database refused a value of log 'receipt'"):
            store_log(
                store.engine,
                poisoned,
                format="csv",
                source="receipt.csv",
                sha256="0" * 64,
                mapping={},
                now=NOW,
                replace=True,
            )
        assert counts(store.engine) == (1, 1434, 8577)
        assert list_logs(store.engine) == [stored]
    finally:
        store.close()
        drop()


def _with_activity(log: EventLog, row: int, activity: str) -> EventLog:
    activities = [log.activity.name(i) or "" for i in range(len(log))]
    activities[row] = activity
    return EventLog.build(
        log.name,
        [log.case_id[int(c)] for c in log.case],
        activities,
        [int(a) for a in log.at],
        [log.resource.name(i) for i in range(len(log))],
        [log.group.name(i) for i in range(len(log))],
        {c: log.channel.name(i) for i, c in enumerate(log.case_id)},
        {c: int(d) for c, d in zip(log.case_id, log.deadline, strict=True) if d != NAT},
    )
