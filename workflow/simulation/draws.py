"""Everything random in one replication, drawn up front with numpy: arrivals, paths, work
times, supplements and hand-over delays.

Each quantity has its own random stream, keyed by the replication and a label (``arrivals
2.000986``, ``work 2.000986 residence_registration 0``, ...), so that a replication is the same
whatever runs before it or in which process, and a scenario that changes one step leaves every
other draw as it was (common random numbers: baseline and scenario differ by the change, not by
luck).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workflow.calendar import WorkingCalendar
from workflow.simulation.model import OpenDossier, ProcedureModel, SimulationModel

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_US_PER_HOUR = 3_600_000_000
_DAYS_PER_YEAR = 365.25
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def stream(seed: int, replication: int, label: str) -> np.random.Generator:
    """The random stream of ``label`` in replication ``replication`` of seed ``seed``."""
    key = zlib.crc32(label.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication, key)))


@dataclass(frozen=True, slots=True)
class Route:
    """The dossiers of one procedure on one path: per dossier, the delay before each visit
    (hand-over plus any wait for the applicant), the paused part of it, and the work."""

    procedure: int
    agencies: tuple[int, ...]
    dossiers: I64  # indexes into the replication's arrivals
    delays: F64  # [dossier, visit] working hours before the visit
    paused: F64  # [dossier] working hours waited for the applicant (clock paused)
    supplements: npt.NDArray[np.int32]  # [dossier] supplement requests
    work: F64  # [dossier, visit] working hours the officer works


@dataclass(frozen=True, slots=True)
class Draws:
    """The arrivals (working hours on the line, sorted), their procedures, and their routes."""

    arrival: F64
    procedure: npt.NDArray[np.int32]
    routes: tuple[Route, ...]


def horizon_hours(model: SimulationModel, calendar: WorkingCalendar) -> tuple[float, float]:
    """Where the horizon starts and ends on the working-time line, in hours."""
    first = dt.datetime.combine(model.start, dt.time(), calendar.tz)
    last = first + dt.timedelta(days=model.horizon_days)
    return calendar.to_work(first) / _US_PER_HOUR, calendar.to_work(last) / _US_PER_HOUR


def arrivals(
    procedure: ProcedureModel,
    model: SimulationModel,
    calendar: WorkingCalendar,
    rng: np.random.Generator,
) -> F64:
    """Arrival instants of one procedure over the horizon, on the working-time line (hours).

    The expected count of each hour of each day is the yearly rate shaped by the weekday and
    hourly profiles; the count is Poisson, the instants uniform within the hour."""
    days = model.horizon_days
    weekdays = np.asarray(procedure.arrivals.weekdays, dtype=np.float64)
    hours = np.asarray(procedure.arrivals.hours, dtype=np.float64)
    first = model.start.toordinal()
    weekday = (np.arange(first, first + days) - 1) % 7  # ordinal 1 is a Monday
    daily = procedure.arrivals.per_year / _DAYS_PER_YEAR * 7 * weekdays[weekday] / weekdays.sum()
    expected = daily[:, None] * (hours / hours.sum())[None, :]
    counts = rng.poisson(expected).ravel()
    if not counts.any():
        return np.empty(0, dtype=np.float64)
    cell = np.repeat(np.arange(len(counts)), counts)
    offsets = _utc_offsets_us(model.start, days, calendar)
    day, hour = np.divmod(cell, 24)
    local_us = (
        (first - dt.date(1970, 1, 1).toordinal() + day) * 24 * _US_PER_HOUR
        + hour * _US_PER_HOUR
        + (rng.random(len(cell)) * _US_PER_HOUR).astype(np.int64)
    )
    instants = local_us - offsets[day]
    return calendar.to_work_array(instants.astype(np.int64)) / _US_PER_HOUR


def _utc_offsets_us(start: dt.date, days: int, calendar: WorkingCalendar) -> I64:
    """The zone's UTC offset at noon of each day of the horizon (µs)."""
    found = np.empty(days, dtype=np.int64)
    for i in range(days):
        day = start + dt.timedelta(days=i)
        offset = dt.datetime(day.year, day.month, day.day, 12, tzinfo=calendar.tz).utcoffset()
        found[i] = 0 if offset is None else int(offset.total_seconds()) * 1_000_000
    return found


def draw(model: SimulationModel, calendar: WorkingCalendar, seed: int, replication: int) -> Draws:
    """Every random quantity of one replication."""
    agency_index = {a.code: i for i, a in enumerate(model.agencies)}
    times: list[F64] = []
    owners: list[npt.NDArray[np.int32]] = []
    for p, procedure in enumerate(model.procedures):
        found = arrivals(
            procedure, model, calendar, stream(seed, replication, f"arrivals {procedure.code}")
        )
        times.append(found)
        owners.append(np.full(len(found), p, dtype=np.int32))
    arrival = np.concatenate(times) if times else np.empty(0)
    owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.int32)
    order = np.argsort(arrival, kind="stable")
    arrival, owner = arrival[order], owner[order]
    routes: list[Route] = []
    for p, procedure in enumerate(model.procedures):
        mine = np.flatnonzero(owner == p)
        routes += _routes(model, procedure, p, mine, agency_index, seed, replication)
    return Draws(arrival, owner, tuple(routes))


def _routes(
    model: SimulationModel,
    procedure: ProcedureModel,
    p: int,
    dossiers: I64,
    agency_index: dict[str, int],
    seed: int,
    replication: int,
) -> list[Route]:
    count = len(dossiers)
    label = procedure.code
    weights = np.asarray([path.weight for path in procedure.paths], dtype=np.float64)
    choice = stream(seed, replication, f"path {label}").choice(
        len(weights), size=count, p=weights / weights.sum()
    )
    steps = {s.id: s for s in procedure.steps}
    rng = stream(seed, replication, f"speed {label}")
    own = rng.random(count)  # each dossier's own quantile (see ProcedureModel)
    tied = procedure.case_correlation
    per_step: dict[str, tuple[F64, F64, npt.NDArray[np.bool_], F64]] = {}
    for step in procedure.steps:
        work = np.zeros(count)
        for k, distribution in enumerate(step.work):
            rng = stream(seed, replication, f"work {label} {step.id} {k}")
            u = rng.random(count)
            if tied > 0:
                u = np.where(rng.random(count) < tied, own, u)
            work += distribution.quantile(u)
        rng = stream(seed, replication, f"supplement {label} {step.id}")
        asked = np.zeros(count, dtype=np.bool_)
        wait = np.zeros(count)
        if step.supplement is not None:
            asked = rng.random(count) < step.supplement.probability
            wait = np.where(asked, step.supplement.delay.sample(rng, count), 0.0)
        rng = stream(seed, replication, f"handover {label} {step.id}")
        electronic = rng.random(count) < step.electronic_share
        carry = np.where(
            electronic,
            model.handover.electronic.sample(rng, count),
            model.handover.paper.sample(rng, count),
        )
        per_step[step.id] = (work, wait, asked, carry)
    routes = []
    for i, path in enumerate(procedure.paths):
        rows = np.flatnonzero(choice == i)
        if not len(rows):
            continue
        visits = len(path.steps)
        delays = np.zeros((len(rows), visits))
        work = np.zeros((len(rows), visits))
        paused = np.zeros(len(rows))
        supplements = np.zeros(len(rows), dtype=np.int32)
        before: str | None = None
        for v, step_id in enumerate(path.steps):
            step_work, wait, asked, carry = per_step[step_id]
            work[:, v] = step_work[rows]
            delays[:, v] = wait[rows]
            if before is not None and before != steps[step_id].agency:
                delays[:, v] += carry[rows]
            paused += wait[rows]
            supplements += asked[rows]
            before = steps[step_id].agency
        routes.append(
            Route(
                procedure=p,
                agencies=tuple(agency_index[steps[s].agency] for s in path.steps),
                dossiers=dossiers[rows],
                delays=delays,
                paused=paused,
                supplements=supplements,
                work=work,
            )
        )
    return routes


def open_work(
    model: SimulationModel, open_dossiers: tuple[OpenDossier, ...], seed: int, replication: int
) -> list[tuple[tuple[int, ...], list[float]]]:
    """The dossiers open at the start: for each, the agencies still to visit (from its current
    step on, along its procedure's first path holding that step) and their remaining work."""
    agency_index = {a.code: i for i, a in enumerate(model.agencies)}
    rng = stream(seed, replication, "open dossiers")
    found = []
    for dossier in open_dossiers:
        procedure = model.procedure(dossier.procedure)
        path = next((p.steps for p in procedure.paths if dossier.step in p.steps), ())
        rest = path[path.index(dossier.step) :] if path else ()
        work = []
        for n, step_id in enumerate(rest):
            step = procedure.step(step_id)
            hours = float(sum(d.sample(rng, 1)[0] for d in step.work))
            work.append(max(hours - dossier.in_step_hours, 0.0) if n == 0 else hours)
        found.append((tuple(agency_index[procedure.step(s).agency] for s in rest), work))
    return found
