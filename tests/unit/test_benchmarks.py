"""The benchmarks still run (tiny sizes; no timing is asserted, only that both sides agree)."""

from __future__ import annotations

from benchmarks import bench_calendar, bench_transitions


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
