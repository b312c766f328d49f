"""The API benchmark still runs end to end on the embedded store (tiny size: a real server, the
load generator and the floor; no timing asserted)."""

from __future__ import annotations

from benchmarks import bench_api


def test_api_benchmark_measures_every_workload_without_errors() -> None:
    results = bench_api.run(requests=40, clients=4, workers=1, postgres=None)
    assert [(r.setup, r.workload) for r in results] == [
        ("(floor)", "constant JSON"),
        ("SQLite", "reads"),
        ("SQLite", "submissions"),
        ("SQLite", "actions (accept)"),
    ]
    assert all(r.requests == 40 and r.errors == 0 and r.p99_ms >= r.p50_ms > 0 for r in results)
