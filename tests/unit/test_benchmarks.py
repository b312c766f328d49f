"""The benchmarks still run (tiny sizes; no timing is asserted, only that both sides agree)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_calendar, bench_transitions
from benchmarks.args import count


def test_transition_benchmark_runs_both_sides() -> None:
    results = bench_transitions.run(dossiers=20, repeat=1)
    assert [r.name for r in results] == ["bare transitions machine", "lienthong engine"]
    assert all(r.transitions == 100 for r in results)


def test_calendar_benchmark_sides_agree() -> None:
    rates = bench_calendar.run(count=300, seed=1)  # asserts equal answers before timing
    assert set(rates) == {
        "line, limits 0-60 days",
        "line, 30-day limits",
        "naive loop, 30-day limits",
    }


def test_a_benchmark_names_a_count_below_one() -> None:
    for text, says in (("0", "0 is too small: give at least 1"), ("x", "'x' is not a whole")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            count(text)
    assert count("3") == 3


@pytest.mark.parametrize("module", ["bench_peers", "bench_transitions", "bench_simulation"])
def test_a_benchmark_refuses_zero_dossiers_with_a_usage_error(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--dossiers", "0"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 2  # argparse's usage error, before any work
    assert "argument --dossiers: 0 is too small: give at least 1" in done.stderr
    assert "Traceback" not in done.stderr
