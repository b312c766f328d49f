"""The routing benchmark still runs end to end on the embedded pair (tiny size, worker
processes, no timing asserted)."""

from __future__ import annotations

from benchmarks import bench_routing


def test_routing_benchmark_routes_every_dossier() -> None:
    [result] = bench_routing.run(dossiers=3, postgres=None, broker=None)
    assert result.dossiers == 3 and result.seconds > 0
    assert result.messages == 3 * bench_routing.MESSAGES_PER_DOSSIER
    assert result.p99_ms >= result.p50_ms > 0 and result.floor_messages_per_s > 0
