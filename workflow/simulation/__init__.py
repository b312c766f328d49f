"""What-if simulation of procedures (issue 9): a discrete-event model (SimPy) on the engine's own
procedure definitions and working calendar, calibrated from history, changed by scenarios, and
reported with the metrics' figures and the 20% goal.

- :mod:`~workflow.simulation.model`: the model as frozen data; :mod:`.distributions`;
- :mod:`~workflow.simulation.calibration`: the baseline from a :class:`~workflow.history.History`;
- :mod:`~workflow.simulation.changes`: what a scenario changes, :mod:`.apply`: how;
- :mod:`~workflow.simulation.correlation`, :mod:`.current_state`: calibration's helpers;
- :mod:`~workflow.simulation.kernel`: one replication; :mod:`.draws`: its random numbers;
- :mod:`~workflow.simulation.report`: figures over replications; :mod:`.validation`: EMD.
"""

from workflow.simulation.apply import apply_changes
from workflow.simulation.calibration import calibrate
from workflow.simulation.changes import Change
from workflow.simulation.current_state import open_dossiers
from workflow.simulation.errors import ScenarioError, SimulationError
from workflow.simulation.kernel import Replication, simulate
from workflow.simulation.model import SimulationModel, check_model
from workflow.simulation.report import Outcome, summarise, verdict
from workflow.simulation.validation import Fit, emd_hours, fit, validate

__all__ = [
    "Change",
    "Fit",
    "Outcome",
    "Replication",
    "ScenarioError",
    "SimulationError",
    "SimulationModel",
    "apply_changes",
    "calibrate",
    "check_model",
    "emd_hours",
    "fit",
    "open_dossiers",
    "simulate",
    "summarise",
    "validate",
    "verdict",
]
