"""The peer comparison still runs: all three engines complete every dossier, in memory and
persisting to one SQLite store, and our store's recorded statements replay on the bare driver
(tiny sizes; no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from adapters.store.checkpoint import Checkpointer
from benchmarks import bench_peers


def test_every_engine_completes_every_dossier_in_both_modes(tmp_path: Path) -> None:
    results = bench_peers.run(dossiers=5, persisted=3, repeat=1, folder=tmp_path)
    engines = [bench_peers.OURS, bench_peers.SPIFF, bench_peers.BARE]
    assert [(r.mode, r.engine) for r in results] == [
        *((bench_peers.IN_MEMORY, engine) for engine in engines),
        *((bench_peers.PERSISTED, engine) for engine in engines),
        (bench_peers.PERSISTED, bench_peers.OURS_UNINDEXED),
        (bench_peers.PERSISTED, bench_peers.OURS_REPLAYED),
    ]
    for r in results:  # run() asserts that every round completed every dossier
        assert r.steps == r.dossiers * 6 and r.seconds > 0
    assert [r.dossiers for r in results] == [5, 5, 5, 3, 3, 3, 3, 3]
    assert list(tmp_path.iterdir()) == []  # the stores' files are gone
    bench_peers.report(results, [])  # prints; the verdict lines need every side


def test_every_engine_takes_six_steps_per_dossier() -> None:
    peers = bench_peers.Peers()
    dossier = peers.open_ours("P-1")
    for trigger, actor in zip(bench_peers.PATH, peers.actors, strict=True):
        assert dossier.agency == actor.agency  # the BPMN's lane of this step
        peers.engine.fire(dossier, trigger, actor=actor, payload=bench_peers.PAYLOADS.get(trigger))
    assert dossier.state == "returned"
    workflow, tasks = peers.open_spiff(), 0
    while not workflow.is_completed():
        bench_peers._run_ready_task(workflow)
        tasks += 1
    assert tasks == len(bench_peers.PATH)


def test_footprints_are_measured_per_open_dossier() -> None:
    prints = bench_peers.footprints(ours=200, spiff=20)
    assert [(f.engine, f.open_dossiers) for f in prints] == [
        (bench_peers.OURS, 200),
        (bench_peers.SPIFF, 20),
        (bench_peers.BARE, 200),
    ]
    assert all(f.per_dossier > 0 for f in prints)


def test_the_recorded_statements_are_the_stores_whole_work(tmp_path: Path) -> None:
    """What the replay runs is every unit of work of the path: a BEGIN IMMEDIATE and a commit
    for the submission and for each of the six steps, and the dossier and control-sheet writes."""
    statements = bench_peers.record_ours(bench_peers.Peers(), tmp_path, 2)
    sqls = [sql for sql, _, _ in statements]
    assert sqls.count("BEGIN IMMEDIATE") == sqls.count("COMMIT") == 2 * 7
    assert sum(sql.startswith("INSERT INTO dossiers ") for sql in sqls) == 2
    assert sum(sql.startswith("UPDATE dossiers ") for sql in sqls) == 2 * 6
    assert sum(sql.startswith("INSERT INTO events ") for sql in sqls) == 2 * 7
    checkpointers: list[Checkpointer] = []
    try:
        assert bench_peers.replayed(statements, tmp_path, 2, checkpointers)() == 2
        assert [c.running for c in checkpointers] == [True]  # the replay's, as the store's
    finally:
        for checkpointer in checkpointers:
            checkpointer.close()
    assert not checkpointers[0].running
