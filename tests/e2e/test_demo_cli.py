"""``lienthong demo`` as a person runs it: a subprocess on a fresh var folder."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "lienthong"


def _env(var: Path) -> dict[str, str]:
    """The environment of a person's first demo: embedded store and queue under ``var``."""
    env = {**os.environ, "LIENTHONG_VAR_DIR": str(var), "COLUMNS": "200"}
    env.pop("LIENTHONG_DATABASE_URL", None)
    env.pop("LIENTHONG_BROKER_URL", None)
    return env


def test_demo_runs_and_prints_its_summary(tmp_path: Path) -> None:
    env = _env(tmp_path)
    command = [str(SCRIPT), "demo", "--days", "3", "--dossiers-per-day", "5"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 days simulated" in done.stdout and "dossiers submitted" in done.stdout
    assert "lienthong metrics" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 2
    assert "already holds" in again.stderr and "--force" in again.stderr


def test_demo_names_a_start_with_nothing_in_force(tmp_path: Path) -> None:
    env = _env(tmp_path)
    command = [str(SCRIPT), "demo", "--start", "2010-01-01", "--days", "3"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert "no procedure of the catalogue is in force" in done.stderr
    assert "give a --start on or after it" in done.stderr
    assert "days simulated" not in done.stdout and "demo from" not in done.stdout  # no bar


def test_an_interrupted_demo_says_what_it_left_and_how_to_start_again(tmp_path: Path) -> None:
    env = _env(tmp_path)
    command = [str(SCRIPT), "demo", "--days", "300", "--dossiers-per-day", "20"]
    running = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    store = tmp_path / "lienthong.sqlite3"
    deadline = time.monotonic() + 120
    while _dossiers(store) < 20:  # some days are in the store: stop it part-way
        assert running.poll() is None, running.communicate()
        assert time.monotonic() < deadline, "the demo wrote no dossiers in two minutes"
        time.sleep(0.2)
    running.send_signal(signal.SIGINT)
    stdout, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr
    assert "days simulated" not in stdout  # no summary of a finished run
    said, held = " ".join(stderr.split()), _dossiers(store)  # Rich may wrap the line
    assert re.search(
        rf"interrupted after \d+ of 300 days: the store keeps the {held} dossiers", said
    )
    assert f"remove {tmp_path} or set another LIENTHONG_VAR_DIR" in said
    assert "Traceback" not in stderr


def _dossiers(store: Path) -> int:
    """Dossiers committed in the demo's store so far (0 before it exists)."""
    if not store.exists():
        return 0
    with closing(sqlite3.connect(store, timeout=30)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM dossiers").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0
