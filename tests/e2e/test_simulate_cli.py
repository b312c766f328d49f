"""``lienthong simulate`` end to end: calibrate a baseline from a history made through the engine
(SQLite and PostgreSQL), then run a scenario against it, as JSON and with charts; a bad scenario
exits 2 naming its file and line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bootstrap import Settings, bootstrap, open_store
from tests.conftest import FixedClock
from tests.e2e.api_server import drop_schema, postgres_schema_url
from tests.histories import VN, make_history, plans
from workflow.engine import Engine

LINKED = "2.000986"
SCENARIO = """kind: scenario
name: electronic police
baseline: baseline.yaml
changes:
  - shorten_work: {procedure: '2.000986', step: residence_registration, by: 40%}
  - staff: {agency: 000.09.71.H26, add: 1}
"""


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a store holding a history of 60 dossiers."""
    found = {**os.environ, "LIENTHONG_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    schema = None
    if request.param == "postgres":
        database = request.getfixturevalue("pg_database")
        found["LIENTHONG_DATABASE_URL"], schema = postgres_schema_url(database)
    settings = Settings.from_env(found)
    store = open_store(settings)
    store.upgrade()
    store.close()
    app = bootstrap(settings)
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))
    make_history(
        plans(60), app.store.unit_of_work, Engine(app.catalogue, clock, app.calendar), clock
    )
    app.store.close()
    yield found
    if schema is not None:
        drop_schema(request.getfixturevalue("pg_database"), schema)


def lienthong(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "simulate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_calibrate_then_run_a_scenario(env: dict[str, str], tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    done = lienthong(env, "calibrate", "--from", "2026-03-01", "--out", str(baseline))
    assert done.returncode == 0, done.stderr
    assert "baseline of 1 procedure(s) and 3 agencies" in done.stderr
    assert "kind: baseline" in baseline.read_text(encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    charts = tmp_path / "charts"
    run = ("run", str(scenario), "--replications", "2", "--seed", "5", "--format", "json")
    done = lienthong(env, *run, "--plot", str(charts))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["baseline"], report["scenario"], report["replications"]) == (
        "baseline",
        "electronic police",
        2,
    )
    assert [c["change"] for c in report["changes"]] == ["ShortenWork", "SetStaff"]
    [linked] = report["procedures"]
    before, after = linked["baseline"], linked["scenario"]
    assert linked["procedure"] == LINKED and after["limit_days"] == 3
    assert after["median_days"]["value"] < before["median_days"]["value"]
    assert 0 <= after["on_time_rate"]["value"] <= 1
    assert linked["goal_scenario"]["goal"] in ("meets", "does_not_meet")
    police = next(a for a in report["agencies"] if a["agency"] == "000.09.71.H26")
    assert police["scenario"]["staff"] == police["baseline"]["staff"] + 1
    assert (charts / f"simulation-{LINKED}.png").stat().st_size > 0
    again = lienthong(env, *run, "--workers", "1")
    assert json.loads(again.stdout) == report  # the same seed, whatever the worker count

    now = lienthong(
        env, "run", str(baseline), "-n", "1", "--from-current-state", "--format", "json"
    )
    assert now.returncode == 0, now.stderr
    state = json.loads(now.stdout)
    assert state["start"] == dt.datetime.now(VN).date().isoformat()
    assert state["open_dossiers"] == 5  # the plans left open at residence registration
    table = lienthong(env, "run", str(scenario), "-n", "1", "--horizon", "20d")
    assert table.returncode == 0, table.stderr
    assert "median scenario" in table.stdout and "000.09.71.H26" in table.stdout


def test_a_bad_scenario_names_its_file_and_line(env: dict[str, str], tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    assert lienthong(env, "calibrate", "--out", str(baseline)).returncode == 0
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(SCENARIO.replace("000.09.71.H26", "000.99.71.H26"), encoding="utf-8")
    done = lienthong(env, "run", str(scenario), "-n", "1")
    assert done.returncode == 2
    assert f"{scenario}:6: changes[1].agency: unknown agency '000.99.71.H26'" in done.stderr
    done = lienthong(env, "run", str(scenario), "--horizon", "soon")
    assert done.returncode == 2 and "--horizon 'soon'" in done.stderr
