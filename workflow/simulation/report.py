"""What N replications say: per procedure the median and p90 processing time and the on-time
rate with 95% confidence intervals, per agency the officers' utilisation and the queues, and
whether each procedure would meet the 20% goal against its baseline.

The intervals are those of independent replications (the standard of simulation studies): the
mean of the replications' figures plus or minus Student's t times its standard error. With a
single replication there is nothing to spread over, so the interval is taken over that
replication's dossiers instead (:func:`workflow.metrics.median_interval` for the median, the
order-statistic interval for the p90, the normal interval of a proportion for the on-time rate),
which ignores how the dossiers of one run depend on each other through the queues: run two or
more replications for an honest interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workflow.metrics import Goal, median_interval
from workflow.simulation.kernel import Replication
from workflow.simulation.model import SimulationModel

F64 = npt.NDArray[np.float64]
CONFIDENCE = 0.95
# Student's t at 0.975 for 1 to 30 degrees of freedom; the normal 1.96 beyond
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure with its 95% confidence interval (``None`` when there was nothing to count)."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class ProcedureOutcome:
    """One procedure over the replications. Days are working days; ``dossiers`` is per
    replication (the mean)."""

    procedure: str
    version: str
    name: str
    dossiers: float
    median_days: Estimate
    p90_days: Estimate
    on_time_rate: Estimate
    limit_days: float | None
    baseline_days: float | None
    baseline_source: str | None
    durations_days: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AgencyOutcome:
    """One agency: officers, their utilisation (worked hours over available working hours),
    and the mean working hours a dossier queued for an officer."""

    agency: str
    staff: int
    utilisation: Estimate
    queue_hours: float
    visits: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """One model's figures over ``replications`` replications."""

    name: str
    replications: int
    procedures: tuple[ProcedureOutcome, ...]
    agencies: tuple[AgencyOutcome, ...]

    def procedure(self, code: str) -> ProcedureOutcome | None:
        return next((p for p in self.procedures if p.procedure == code), None)


@dataclass(frozen=True, slots=True)
class GoalVerdict:
    """Where a procedure's median would stand against its baseline: the reduction with its
    interval, and the 20% goal (``confirmed``: the whole interval is at least the goal)."""

    procedure: str
    baseline_days: float | None
    reduction: float | None
    reduction_low: float | None
    reduction_high: float | None
    goal: Goal
    confirmed: bool


def summarise(
    model: SimulationModel, replications: Sequence[Replication], *, keep_durations: bool = False
) -> Outcome:
    """The figures of ``model`` over its replications (in any order: they are sorted)."""
    runs = sorted(replications, key=lambda r: r.index)
    if not runs:
        raise ValueError("no replication to summarise")
    procedures = []
    for p, procedure in enumerate(model.procedures):
        per_run = [run.days[run.procedure == p] for run in runs]
        on_time = [run.on_time[run.procedure == p] for run in runs]
        pooled = np.concatenate(per_run)
        procedures.append(
            ProcedureOutcome(
                procedure=procedure.code,
                version=procedure.version,
                name=procedure.name,
                dossiers=len(pooled) / len(runs),
                median_days=_estimate(per_run, lambda v: float(np.median(v)), _median_ci),
                p90_days=_estimate(per_run, lambda v: float(np.quantile(v, 0.9)), _p90_ci),
                on_time_rate=Estimate(None)
                if procedure.limit_days is None
                else _estimate(
                    [o.astype(np.float64) for o in on_time],
                    lambda v: float(v.mean()),
                    _share_ci,
                    top=1.0,
                ),
                limit_days=procedure.limit_days,
                baseline_days=procedure.baseline_days,
                baseline_source=procedure.baseline_source,
                durations_days=tuple(pooled.tolist()) if keep_durations else (),
            )
        )
    agencies = []
    for a, agency in enumerate(model.agencies):
        used = [
            np.array([run.busy_hours[a] / run.available_hours[a]])
            for run in runs
            if run.available_hours[a] > 0
        ]
        visits = sum(int(run.visits[a]) for run in runs)
        agencies.append(
            AgencyOutcome(
                agency=agency.code,
                staff=agency.staff,
                utilisation=_estimate(used, lambda v: float(v[0]), None, top=1.0),
                queue_hours=sum(float(run.queue_hours[a]) for run in runs) / visits
                if visits
                else 0.0,
                visits=visits / len(runs),
            )
        )
    return Outcome(model.name, len(runs), tuple(procedures), tuple(agencies))


def verdict(outcome: ProcedureOutcome, goal: float = 0.20, min_count: int = 30) -> GoalVerdict:
    """The 20% goal of one procedure: its simulated median against its baseline."""
    baseline = outcome.baseline_days
    median = outcome.median_days
    if baseline is None or median.value is None:
        return GoalVerdict(outcome.procedure, baseline, None, None, None, Goal.NO_BASELINE, False)
    reduction = 1 - median.value / baseline
    low = None if median.high is None else 1 - median.high / baseline
    high = None if median.low is None else 1 - median.low / baseline
    if outcome.dossiers < min_count:
        found = Goal.NOT_ENOUGH_DATA
    else:
        found = Goal.MEETS if reduction >= goal - 1e-12 else Goal.DOES_NOT_MEET
    confirmed = found is Goal.MEETS and low is not None and low >= goal - 1e-12
    return GoalVerdict(outcome.procedure, baseline, reduction, low, high, found, confirmed)


def _estimate(
    samples: Sequence[F64],
    statistic: Callable[[F64], float],
    single: Callable[[F64], tuple[float, float]] | None,
    top: float = math.inf,
) -> Estimate:
    """The mean of the replications' statistic with a t interval (kept within 0 and ``top``);
    with one replication, the statistic of its values with the interval ``single`` gives."""
    filled = [s for s in samples if len(s)]
    if not filled:
        return Estimate(None)
    values = [statistic(s) for s in filled]
    if len(values) == 1:
        if single is None:
            return Estimate(values[0])
        low, high = single(filled[0])
        return Estimate(values[0], low, high)
    mean = statistics.fmean(values)
    t = _T975[len(values) - 2] if len(values) - 1 <= len(_T975) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return Estimate(mean, max(mean - half, 0.0), min(mean + half, top))


def _median_ci(values: F64) -> tuple[float, float]:
    return median_interval(values, CONFIDENCE, 1000, np.random.default_rng(0))


def _p90_ci(values: F64) -> tuple[float, float]:
    """Distribution-free interval of the 0.9 quantile: order statistics at n·q ± z·√(n·q·(1-q))."""
    ordered = np.sort(values)
    n = len(ordered)
    half = 1.96 * math.sqrt(n * 0.9 * 0.1)
    low = ordered[max(0, math.floor(n * 0.9 - half))]
    high = ordered[min(n - 1, math.ceil(n * 0.9 + half))]
    return float(low), float(high)


def _share_ci(values: F64) -> tuple[float, float]:
    share = float(values.mean())
    half = 1.96 * math.sqrt(share * (1 - share) / len(values))
    return max(0.0, share - half), min(1.0, share + half)
