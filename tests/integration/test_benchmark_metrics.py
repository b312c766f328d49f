"""The metrics benchmark still runs both sides at a tiny size, and they agree (no timing
asserted).

pm4py is a test-only dependency (AGPL), imported by the benchmark itself; a warning it issues
is ignored here, every other warning still fails the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_metrics
from workflow.history import NAT, case_bounds

EVENTS = 20_000


def test_the_synthetic_log_has_the_promised_shape() -> None:
    log = bench_metrics.make_log(EVENTS, seed=3)
    assert len(log) == EVENTS and len(log.activity.names) == 30
    assert len(log.resource.names) == 50 and len(log.group.names) == 10
    assert log.activity.names == tuple(sorted(log.activity.names))
    first, last = case_bounds(log.case, log.case_count)
    sizes = last - first + 1
    assert sizes[:-1].min() >= 8 and sizes.max() <= 12  # the last case may be cut short
    assert bool(np.all(np.diff(log.case) >= 0))
    within = np.diff(log.case) == 0
    assert bool(np.all(np.diff(log.at)[within] >= 60 * 1_000_000))  # rising by a minute or more
    assert int(log.at.min()) >= bench_metrics.FIRST_START
    assert int(log.at.max()) < 1_798_736_400 * 1_000_000  # 2027-01-01 at UTC+07:00
    assert 0 < int(np.count_nonzero(log.deadline == NAT)) < log.case_count


@pytest.mark.filterwarnings("ignore::UserWarning:pm4py")
def test_metrics_benchmark_reports_every_row_and_both_sides_agree() -> None:
    results = bench_metrics.run(EVENTS, seed=3)  # checks the durations and DFG means agree
    assert [(r.side, r.work) for r in results] == [
        ("lienthong", "working-time metrics (history, procedures, agencies)"),
        ("lienthong", "case durations (numpy)"),
        ("lienthong", "performance DFG means (numpy)"),
        ("pm4py", "get_all_case_durations"),
        ("pm4py", "discover_performance_dfg"),
    ]
    assert all(r.events == EVENTS and r.cases > EVENTS // 13 and r.seconds > 0 for r in results)
    assert results[0].peak_mb is not None and results[0].peak_mb > 0


def test_a_disagreement_with_pm4py_fails_the_benchmark() -> None:
    ours = np.array([60.0, 120.0])
    dfg = {("a", "b"): 60.0}
    bench_metrics.check_same(ours, [60.0, 120.0], dfg, {("a", "b"): 60.0})
    with pytest.raises(AssertionError, match="case durations"):
        bench_metrics.check_same(ours, [60.0, 121.0], dfg, dfg)
    with pytest.raises(AssertionError, match="pair means"):
        bench_metrics.check_same(ours, [60.0, 120.0], dfg, {("a", "b"): 60.01})
    with pytest.raises(AssertionError, match="pairs differ"):
        bench_metrics.check_same(ours, [60.0, 120.0], dfg, {("b", "a"): 60.0})
