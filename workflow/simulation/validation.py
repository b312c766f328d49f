"""Does a calibrated baseline reproduce the history it came from?

Two figures compare the processing times (working hours) of the history's finished dossiers
with the simulated ones:

- the **Earth Mover's Distance** between the two distributions over 1-hour bins, the measure of
  the Simod and Prosimos studies (Chapela-Campa et al.; Camargo et al.). Between two histograms
  on the same 1-D bins the EMD is the L1 distance between their cumulative distributions times
  the bin width, so it is computed exactly with numpy, in hours: how far, on average, the
  simulated probability mass has to move to become the history's;
- the **error of the median**: simulated median minus historical median, in hours and relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workflow.calendar import WorkingCalendar
from workflow.history import History
from workflow.metrics import Period, durations
from workflow.simulation.kernel import simulate
from workflow.simulation.model import SimulationModel

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Fit:
    """How well simulated processing times match the historical ones (hours)."""

    historical: int
    simulated: int
    emd_hours: float
    historical_median_hours: float
    simulated_median_hours: float

    @property
    def median_error_hours(self) -> float:
        return self.simulated_median_hours - self.historical_median_hours

    @property
    def median_relative_error(self) -> float | None:
        if self.historical_median_hours == 0:
            return None
        return self.median_error_hours / self.historical_median_hours


def emd_hours(first: F64, second: F64, bin_hours: float = 1.0) -> float:
    """The Earth Mover's Distance between two samples of durations (hours) binned into bins of
    ``bin_hours``: the L1 distance between the binned cumulative distributions times the bin
    width."""
    if len(first) == 0 or len(second) == 0:
        raise ValueError("both samples need at least one duration")
    top = max(float(first.max()), float(second.max()))
    edges = np.arange(0.0, top + 2 * bin_hours, bin_hours)
    a = np.histogram(first, edges)[0] / len(first)
    b = np.histogram(second, edges)[0] / len(second)
    return float(np.abs(np.cumsum(a) - np.cumsum(b)).sum() * bin_hours)


def fit(historical_hours: F64, simulated_hours: F64) -> Fit:
    """The EMD over 1-hour bins and the medians of two samples of processing times (hours)."""
    return Fit(
        historical=len(historical_hours),
        simulated=len(simulated_hours),
        emd_hours=emd_hours(historical_hours, simulated_hours),
        historical_median_hours=float(np.median(historical_hours)),
        simulated_median_hours=float(np.median(simulated_hours)),
    )


def validate(
    model: SimulationModel,
    history: History,
    calendar: WorkingCalendar,
    *,
    replications: int = 10,
    seed: int = 1,
    period: Period | None = None,
) -> Fit:
    """How well ``model`` (calibrated from ``history``) reproduces it: the processing times of
    the history's dossiers finished in ``period`` against those of ``replications``
    replications pooled (one process; use the adapters' runner for many cores)."""
    historical = durations(history, calendar, period or Period()).working_days
    simulated = np.concatenate(
        [simulate(model, calendar, seed, i).days for i in range(replications)]
    )
    hours = calendar.day_length / 3_600_000_000
    return fit(historical * hours, simulated * hours)
