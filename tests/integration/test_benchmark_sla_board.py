"""The SLA board benchmark still runs (tiny size, SQLite and, in CI, PostgreSQL): both sides
must give the same counts; no timing is asserted."""

from __future__ import annotations

import os

from benchmarks import bench_sla_board


def test_board_benchmark_sides_agree() -> None:
    postgres = os.environ.get("LIENTHONG_TEST_DATABASE_URL")
    timings = bench_sla_board.run(2_000, runs=1, postgres=postgres, progress=False)
    backends = ["SQLite"] + (["PostgreSQL"] if postgres else [])
    assert [t.backend for t in timings] == [b for b in backends for _ in range(2)]
    assert all(t.median_s > 0 and t.baseline_median_s > 0 for t in timings)
