"""``lienthong demo`` as a person runs it: a subprocess on a fresh var folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_prints_its_summary(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lienthong"
    env = {**os.environ, "LIENTHONG_VAR_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("LIENTHONG_DATABASE_URL", None)
    env.pop("LIENTHONG_BROKER_URL", None)
    command = [str(script), "demo", "--days", "3", "--dossiers-per-day", "5"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 days simulated" in done.stdout and "dossiers submitted" in done.stdout
    assert "lienthong metrics" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 2
    assert "already holds" in again.stderr and "--force" in again.stderr


def test_demo_names_a_start_with_nothing_in_force(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lienthong"
    env = {**os.environ, "LIENTHONG_VAR_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("LIENTHONG_DATABASE_URL", None)
    command = [str(script), "demo", "--start", "2010-01-01", "--days", "3"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert "no procedure of the catalogue is in force" in done.stderr
    assert "give a --start on or after it" in done.stderr
    assert "days simulated" not in done.stdout and "demo from" not in done.stdout  # no bar
