"""Errors of the what-if simulation. The tree (under :class:`workflow.errors.WorkflowError`)::

SimulationError        a simulation cannot be built or run as asked
└── ScenarioError      a scenario or baseline file is not valid (lists every problem,
                       each with its file, line and field)
"""

from __future__ import annotations

from collections.abc import Sequence

from workflow.errors import Problem, WorkflowError


class SimulationError(WorkflowError):
    """A simulation cannot be built or run as asked; the message says what to change."""


class ScenarioError(SimulationError):
    """A scenario is invalid; ``problems`` lists every finding (file, line and field)."""

    def __init__(self, problems: Sequence[Problem], what: str = "scenario") -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the {what}; nothing was simulated. "
            f"Fix these and run again:\n{lines}"
        )
