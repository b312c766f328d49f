"""One replication: the discrete-event simulation itself, with SimPy.

Each agency is a :class:`simpy.Resource` with one unit per officer. A dossier is a SimPy process
that, for each visit of its route, waits out the delay before it (hand-over, supplement), queues
for an officer of the visit's agency (first come, first served), holds the officer for the work
time and lets go. The clock is the working-time line in hours (see
:mod:`workflow.simulation.model`), so officers are only ever busy in working time.

Everything random was drawn before the run (:mod:`workflow.simulation.draws`), so a replication
is a pure function of the model, the calendar, the seed and its index.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from workflow.calendar import WorkingCalendar
from workflow.simulation.draws import Draws, draw, horizon_hours, open_work
from workflow.simulation.model import SimulationModel

F64 = npt.NDArray[np.float64]
_US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True, slots=True)
class Replication:
    """What one replication measured. Per dossier that arrived in the horizon (in arrival
    order): its procedure (index into the model's), its processing time in working days (clock
    start to finish, less the waits for the applicant) and whether it was on time. Per agency
    (in the model's order): working hours its officers worked within the horizon, hours
    dossiers queued for them, visits, and the officer hours available over the horizon."""

    index: int
    procedure: npt.NDArray[np.int32]
    days: F64
    on_time: npt.NDArray[np.bool_]
    busy_hours: F64
    queue_hours: F64
    visits: npt.NDArray[np.int64]
    available_hours: F64


def simulate(
    model: SimulationModel, calendar: WorkingCalendar, seed: int, index: int = 0
) -> Replication:
    """Replication ``index`` of ``model`` with ``seed``: the same arguments give the same
    result, in any process."""
    draws = draw(model, calendar, seed, index)
    start, end = horizon_hours(model, calendar)
    day = calendar.day_length / _US_PER_HOUR
    env = simpy.Environment(initial_time=start)
    officers = [simpy.Resource(env, capacity=max(a.staff, 1)) for a in model.agencies]
    queued = [0.0] * len(model.agencies)
    busy = [0.0] * len(model.agencies)  # officer hours worked within the horizon
    finish = np.full(len(draws.arrival), np.nan)

    def dossier(
        number: int, agencies: tuple[int, ...], delays: list[float], work: list[float]
    ) -> Generator[simpy.Event, Any, None]:
        timeout = env.timeout
        for agency, delay, hours in zip(agencies, delays, work, strict=True):
            if delay > 0:
                yield timeout(delay)
            resource = officers[agency]
            asked = env.now
            request = resource.request()
            yield request
            now = env.now
            queued[agency] += now - asked
            if now < end:
                busy[agency] += min(hours, end - now)
            yield timeout(hours)
            resource.release(request)
        if number >= 0:
            finish[number] = env.now

    for agencies, work in open_work(model, model.open_dossiers, seed, index):
        env.process(dossier(-1, agencies, [0.0] * len(work), work))
    env.process(_source(env, draws, dossier))
    env.run()
    if np.isnan(finish).any():
        raise AssertionError("a dossier never finished: every agency with steps has staff")
    days, on_time = _outcomes(model, draws, finish, day, calendar)
    visits = np.zeros(len(model.agencies), dtype=np.int64)
    for route in draws.routes:
        for agency in route.agencies:
            visits[agency] += len(route.dossiers)
    available = np.asarray([a.staff * (end - start) for a in model.agencies], dtype=np.float64)
    return Replication(
        index=index,
        procedure=draws.procedure,
        days=days,
        on_time=on_time,
        busy_hours=np.asarray(busy),
        queue_hours=np.asarray(queued),
        visits=visits,
        available_hours=available,
    )


def _source(env: simpy.Environment, draws: Draws, dossier: Any) -> Generator[simpy.Event]:
    """Start each dossier's process at its arrival."""
    plans: list[tuple[int, tuple[int, ...], list[float], list[float]]] = []
    for route in draws.routes:
        delays, work = route.delays.tolist(), route.work.tolist()
        plans += zip(
            route.dossiers.tolist(), [route.agencies] * len(delays), delays, work, strict=True
        )
    plans.sort(key=lambda plan: plan[0])
    arrival = draws.arrival.tolist()
    timeout, process = env.timeout, env.process
    for number, agencies, delays, work in plans:
        wait = arrival[number] - env.now
        if wait > 0:
            yield timeout(wait)
        process(dossier(number, agencies, delays, work))


def _outcomes(
    model: SimulationModel, draws: Draws, finish: F64, day: float, calendar: WorkingCalendar
) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Processing days and the on-time verdict of each dossier (the engine's due rule on the
    line: N days after the clock's start plus the pauses; a same-day limit ends with the
    working day, the next one for a dossier received at or after the cut-off; more than one
    supplement request is late)."""
    paused = np.zeros(len(finish))
    supplements = np.zeros(len(finish), dtype=np.int32)
    for route in draws.routes:
        paused[route.dossiers] = route.paused
        supplements[route.dossiers] = route.supplements
    start = draws.arrival
    limits = [np.inf if p.limit_days is None else p.limit_days for p in model.procedures]
    limit = np.asarray(limits, dtype=np.float64)[draws.procedure]
    cutoff = np.asarray([_cutoff_hours(p.cutoff, calendar) for p in model.procedures])
    into_day = start - np.floor(start / day) * day
    same_day_due = (
        np.floor(start / day) + np.where(into_day < cutoff[draws.procedure], 1, 2)
    ) * day
    due = np.where(limit > 0, start + limit * day, same_day_due) + paused
    on_time = (finish <= due + 1e-9) & (supplements <= 1)
    return np.maximum(finish - start - paused, 0.0) / day, on_time


def _cutoff_hours(cutoff: Any, calendar: WorkingCalendar) -> float:
    """Working hours from a working day's start to the same-day cut-off."""
    limit = cutoff or calendar.cutoff
    minutes = limit.hour * 60 + limit.minute
    total = 0.0
    for begin, end in calendar.working_hours:
        a, b = begin.hour * 60 + begin.minute, end.hour * 60 + end.minute
        total += min(max(minutes - a, 0), b - a)
    return total / 60
