"""``lienthong demo`` as a person runs it: a subprocess on a fresh var folder."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import typer

from adapters.bootstrap import Settings, bootstrap
from adapters.demo import DemoPlan, DemoSummary, OnDay

SCRIPT = Path(sys.executable).parent / "lienthong"
#: the command's module (the package's attribute of that name is the command itself)
demo_cli = importlib.import_module("adapters.cli.demo")


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
        _from_a_terminal(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    store = tmp_path / "lienthong.sqlite3"
    deadline = time.monotonic() + 120
    while _dossiers(store) < 20:  # some days are in the store: stop it part-way
        assert running.poll() is None, running.communicate()
        assert time.monotonic() < deadline, "the demo wrote no dossiers in two minutes"
        time.sleep(0.2)
    running.send_signal(signal.SIGINT)
    stdout, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, (stdout[-2000:], stderr)
    assert "days simulated" not in stdout  # no summary of a finished run
    said, held = " ".join(stderr.split()), _dossiers(store)  # Rich may wrap the line
    assert re.search(
        rf"interrupted after \d+ of 300 days: the store keeps the {held} dossiers", said
    )
    assert f"remove {tmp_path} or set another LIENTHONG_VAR_DIR" in said
    assert "Traceback" not in stderr


def _from_a_terminal(command: list[str]) -> list[str]:
    """``command`` with Ctrl-C (SIGINT) handled by default, as a terminal starts it. A child
    inherits an ignored SIGINT, and a suite started in the background (``nohup``, ``&``) has
    one: the demo would keep it ignored, as any program started so does, and run on."""
    launch = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", launch, *command]


def _dossiers(store: Path) -> int:
    """Dossiers committed in the demo's store so far (0 before it exists)."""
    if not store.exists():
        return 0
    with closing(sqlite3.connect(store, timeout=30)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM dossiers").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


class _CtrlCInAFinalizer:
    """Cyclic garbage whose finalizer is where a Ctrl-C lands while ``armed``: Python reports a
    ``KeyboardInterrupt`` raised in a finalizer as "Exception ignored" and drops it."""

    armed = False

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        if _CtrlCInAFinalizer.armed:
            _CtrlCInAFinalizer.armed = False
            signal.raise_signal(signal.SIGINT)


# Python's report of the interrupt it dropped, which is the point
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_that_lands_in_a_finalizer_still_stops_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # in this process: the interrupt has to land in one of its finalizers, where Python drops
    # it; before the demo kept its interrupts, it then ran all its days
    app = bootstrap(Settings(var_dir=tmp_path, secret_key="ab" * 32))
    plan = DemoPlan(start=dt.date(2025, 6, 24), days=30, per_day=10, seed=7)
    real_run = demo_cli.run_demo

    def run_with_garbage(*args: Any, on_day: OnDay, **options: Any) -> DemoSummary:
        def day_done(done: int, summary: DemoSummary) -> None:
            on_day(done, summary)
            if done == 3:  # the next collection, on day 4, runs the finalizer
                _CtrlCInAFinalizer.armed = True
                _CtrlCInAFinalizer()

        return real_run(*args, on_day=day_done, **options)

    monkeypatch.setattr(demo_cli, "run_demo", run_with_garbage)
    # Ctrl-C as a terminal's process has it (the suite may run with SIGINT ignored)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(typer.Exit) as stopped:
            demo_cli.seed_demo(app, plan)
        handler = signal.getsignal(signal.SIGINT)
    finally:
        _CtrlCInAFinalizer.armed = False
        gc.collect()
        signal.signal(signal.SIGINT, outer)
    assert stopped.value.exit_code == 130
    said = " ".join(capsys.readouterr().err.split())
    held = app.store.count_dossiers()
    assert re.search(
        rf"interrupted after [34] of 30 days: the store keeps the {held} dossiers", said
    )
    assert handler is signal.default_int_handler  # put back


def test_a_demo_started_with_ctrl_c_ignored_keeps_it_ignored() -> None:
    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup, or after `&`
    try:
        with demo_cli.interrupts_remembered() as pressed:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)  # ignored: nothing raised, nothing kept
            assert not pressed.is_set()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with demo_cli.interrupts_remembered() as pressed:
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
            assert pressed.is_set()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
