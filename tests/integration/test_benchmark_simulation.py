"""The simulation benchmark still runs at a tiny size, both sides serving the same dossiers (no
timing asserted)."""

from __future__ import annotations

from benchmarks import bench_simulation


def test_the_ward_model_covers_the_catalogue_with_officers_for_its_load() -> None:
    model = bench_simulation.ward_model(2_000)
    assert len(model.procedures) == 10
    assert sum(p.arrivals.per_year for p in model.procedures) == 2_000
    assert all(a.staff >= 1 for a in model.agencies)


def test_the_simulation_benchmark_runs_every_row() -> None:
    results = bench_simulation.run(dossiers=2_000, replications=2, workers=2, seed=3)
    assert [(r.side, r.work) for r in results] == [
        ("lienthong", "one replication, 1 core"),
        ("SimPy M/M/c floor", "one replication, 1 core"),
        ("lienthong", "2 replications, 2 processes"),
    ]
    ours, floor, many = results
    assert ours.dossiers == floor.dossiers > 1_500
    assert many.dossiers > 2 * 1_500 and all(r.seconds > 0 for r in results)
