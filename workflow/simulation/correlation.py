"""The case correlation of a procedure: how its dossiers' step times go together.

A dossier quick at one step tends to be quick at the next. The model ties a dossier's draws
with a mixture copula (:class:`~workflow.simulation.model.ProcedureModel`); calibration picks
the tie whose median processing time, drawn without queues, is the history's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from workflow.simulation.model import HandoverDelays, ProcedureModel

F64 = npt.NDArray[np.float64]


def matched_correlation(
    procedure: ProcedureModel, handover: HandoverDelays, target_hours: float
) -> float:
    """The case correlation whose median processing time (without queues, the staff being
    calibrated not to queue) is the history's: a bisection, since more correlation lowers the
    median of a sum of skewed times. The same fixed draws serve every trial."""
    if not procedure.paths:
        return 0.0
    rng = np.random.default_rng(20210101)
    count = 20_000
    weights = np.asarray([p.weight for p in procedure.paths])
    path = rng.choice(len(weights), size=count, p=weights / weights.sum())
    own, fresh, mix = rng.random(count), {}, {}
    carry: dict[str, F64] = {}
    for step in procedure.steps:
        fresh[step.id] = rng.random((len(step.work), count))
        mix[step.id] = rng.random(count)
        electronic = rng.random(count) < step.electronic_share
        carry[step.id] = np.where(
            electronic, handover.electronic.sample(rng, count), handover.paper.sample(rng, count)
        )

    routes = [(np.flatnonzero(path == i), route.steps) for i, route in enumerate(procedure.paths)]

    def median(tied: float) -> float:
        totals = []
        for rows, steps in routes:
            total = np.zeros(len(rows))
            before = None
            for step_id in steps:
                step = procedure.step(step_id)
                tie = mix[step_id][rows] < tied
                for k, work in enumerate(step.work):
                    total += work.quantile(np.where(tie, own[rows], fresh[step_id][k][rows]))
                if before is not None and before != step.agency:
                    total += carry[step_id][rows]
                before = step.agency
            totals.append(total)
        return float(np.median(np.concatenate(totals)))

    low, high = 0.0, 1.0
    if median(low) <= target_hours:
        return 0.0
    if median(high) >= target_hours:
        return 1.0
    for _ in range(20):
        middle = (low + high) / 2
        low, high = (middle, high) if median(middle) > target_hours else (low, middle)
    return round((low + high) / 2, 4)
