"""The dossiers open now, for a simulation that starts from the current state."""

from __future__ import annotations

import datetime as dt

import numpy as np

from workflow.calendar import WorkingCalendar
from workflow.history import NAT, History
from workflow.simulation.model import OpenDossier, SimulationModel

_US_PER_HOUR = 3_600_000_000


def open_dossiers(
    history: History, calendar: WorkingCalendar, now: dt.datetime, model: SimulationModel
) -> tuple[OpenDossier, ...]:
    """The dossiers open at ``now`` (clock started, not finished, not closed) at a step the
    model knows, with how long they have been at it (working hours)."""
    cases, segments = history.cases, history.segments
    current = np.flatnonzero(segments.end == NAT)
    case = segments.case[current]
    open_ = (cases.started[case] != NAT) & (cases.finished[case] == NAT)
    open_ &= ~np.isin(cases.status[case], (3, 7, 8, 9, 10))
    at = calendar.to_work(now)
    found = []
    for row, c in zip(current[open_].tolist(), case[open_].tolist(), strict=True):
        code = cases.procedure.name(c) or ""
        step = segments.step.name(row) or ""
        try:
            model.procedure(code).step(step)
        except KeyError:
            continue
        since = calendar.to_work_array(segments.start[row : row + 1])[0]
        found.append(OpenDossier(code, step, max(at - int(since), 0) / _US_PER_HOUR))
    return tuple(found)
