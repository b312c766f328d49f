"""The reads-beside-writes benchmark still runs (tiny sizes; no timing is asserted)."""

from __future__ import annotations

from benchmarks import bench_reads_beside_writes as bench


def test_reads_beside_writes_runs_every_side(capsys: object) -> None:
    results = bench.run(rows=500, seconds=0.3, writers=1, repeat=1)
    assert [r.side for r in results] == [bench.ALONE, bench.UNLOCKED, bench.LOCKED]
    assert all(r.writes > 0 and len(r.latencies_ms) == r.writes for r in results)
    assert results[0].reads == 0 and all(r.reads > 0 for r in results[1:])
    bench.report(results, 500, 1)
