"""The store benchmark still runs, in threads and in processes (tiny sizes, SQLite, no timing
asserted)."""

from __future__ import annotations

import pytest

from benchmarks import bench_store


@pytest.mark.parametrize("processes", [1, 2])
def test_store_benchmark_runs_both_sides(processes: int) -> None:
    results = bench_store.run(dossiers=4, threads=2, postgres=None, processes=processes)
    assert [(r.backend, r.side) for r in results] == [
        ("sqlite", "lienthong (uow + engine)"),
        ("sqlite", "Core floor"),
    ]
    assert all(r.actions == 24 and r.seconds > 0 for r in results)
