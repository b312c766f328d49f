"""The simulation's figures: the EMD over 1-hour bins, intervals over replications, the goal."""

from __future__ import annotations

import numpy as np
import pytest

from workflow.metrics import Goal
from workflow.simulation import emd_hours, fit, verdict
from workflow.simulation.report import Estimate, ProcedureOutcome, _estimate


def test_the_emd_is_how_far_the_mass_moves_in_hours() -> None:
    rng = np.random.default_rng(4)
    hours = rng.uniform(0, 100, 5000)
    assert emd_hours(hours, hours) == 0
    assert emd_hours(hours, hours + 3) == pytest.approx(3, abs=0.01)  # three 1-hour bins
    assert emd_hours(np.array([0.5]), np.array([10.5])) == 10  # one bin to the tenth
    found = fit(hours, hours * 1.1)
    assert found.median_relative_error == pytest.approx(0.1, abs=1e-9)
    assert found.emd_hours == pytest.approx(5, abs=0.2)  # mean moved by 10%: 5 hours


def test_intervals_come_from_the_replications() -> None:
    samples = [np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0])]
    found = _estimate(samples, lambda v: float(np.median(v)), None)
    assert found.value == 3.0
    half = 4.303 * 1.0 / np.sqrt(3)  # Student's t, 2 degrees of freedom
    assert found.low == pytest.approx(max(3 - half, 0.0)) and found.high == pytest.approx(3 + half)
    one = _estimate(samples[:1], lambda v: float(np.median(v)), lambda v: (0.5, 9.0))
    assert (one.value, one.low, one.high) == (2.0, 0.5, 9.0)


def _outcome(median: Estimate, baseline: float | None, dossiers: float = 100) -> ProcedureOutcome:
    return ProcedureOutcome(
        "P", "1", "", dossiers, median, Estimate(None), Estimate(None), 3.0, baseline, "declared"
    )


def test_the_goal_is_the_median_twenty_percent_under_the_baseline() -> None:
    meets = verdict(_outcome(Estimate(1.5, 1.4, 1.55), 2.0))
    assert meets.goal is Goal.MEETS and meets.confirmed and meets.reduction == pytest.approx(0.25)
    unsure = verdict(_outcome(Estimate(1.5, 1.2, 1.7), 2.0))
    assert unsure.goal is Goal.MEETS and not unsure.confirmed
    assert verdict(_outcome(Estimate(1.9), 2.0)).goal is Goal.DOES_NOT_MEET
    assert verdict(_outcome(Estimate(1.0), None)).goal is Goal.NO_BASELINE
    assert verdict(_outcome(Estimate(1.0), 2.0, dossiers=5)).goal is Goal.NOT_ENOUGH_DATA
