"""Calibration: the baseline model that reproduces a history (the engine's own or an imported
event log), fitted from its columns (:class:`~workflow.history.History`).

Over the dossiers *received* in the period, per procedure:

- **arrivals**: the yearly rate, the channels' shares, the weekday and hourly profiles of the
  receipts (local time);
- **work time per step**: the empirical distribution (101 quantiles) of the working hours each
  finished dossier spent at the step after its clock started, waits for the applicant left out
  (a procedure from the catalogue: one value per dossier and step; from a log: one per event,
  since a log's cases may repeat an activity). The expected paper hand-over delay is taken out
  of each value, since the simulation adds it back per dossier;
- **supplements**: per step, the share of finished dossiers that waited for the applicant there
  after the clock started, and the distribution of those waits;
- **hand-overs**: the share of electronic hand-overs in the history (a log tells none: its
  hand-overs are left inside the steps' time);
- **paths**: a catalogue procedure's steps in order (its version most received); a log's
  variants, as seen, with their counts;
- **staff per agency**: since a step holds one officer for its whole work time, the most
  dossiers the agency held at once (outside waits for the applicant: with these officers the
  history itself would have queued nowhere), and at least the square-root staffing rule's
  R + 3·√R for the R dossiers it held on average, so that random arrivals do not invent queues
  the history did not have;
- **case correlation**: how a dossier's step times go together (see
  :class:`~workflow.simulation.model.ProcedureModel`): the value whose median processing time,
  drawn without queues, is the history's (a bisection; the EMD stays an independent check);
- **the goal's baseline**: the version's declared ``baseline_days``, else the median processing
  time of the history.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.errors import WorkflowError
from workflow.history import NAT, History
from workflow.metrics import Period
from workflow.simulation.correlation import matched_correlation
from workflow.simulation.distributions import Distribution, Empirical
from workflow.simulation.errors import SimulationError
from workflow.simulation.model import (
    AgencyModel,
    Arrivals,
    HandoverDelays,
    PathModel,
    ProcedureModel,
    SimulationModel,
    StepModel,
    Supplement,
    from_definition,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000


def calibrate(
    history: History,
    calendar: WorkingCalendar,
    catalogue: Catalogue | None = None,
    period: Period | None = None,
    *,
    handover: HandoverDelays | None = None,
    name: str = "baseline",
) -> SimulationModel:
    """The baseline model of the dossiers received in ``period`` (see the module docstring)."""
    period = period or Period()
    handover = handover or HandoverDelays()
    cases = history.cases
    rows = np.flatnonzero(period.mask(cases.received))
    if not len(rows):
        raise SimulationError(
            f"no dossier of the {history.source} was received in the period; widen --from/--to"
        )
    first = int(cases.received[rows].min()) if period.start is None else _us(period.start)
    last = int(cases.received[rows].max()) + 1 if period.end is None else _us(period.end)
    start = _local(first, calendar).date()
    horizon = max(1, math.ceil((last - _us(_midnight(start, calendar))) / _US_PER_DAY))
    hours, inside = _work_hours(history, calendar)
    electronic = (
        float(history.handover_electronic.mean())
        if history.has_handovers and len(history.handover_electronic)
        else None
    )
    procedures = []
    for code in np.unique(cases.procedure.codes[rows]):
        mine = rows[cases.procedure.codes[rows] == code]
        procedures.append(
            _procedure(
                history, calendar, catalogue, mine, (hours, inside), horizon, electronic, handover
            )
        )
    agencies = _staff(history, rows, {s.agency for p in procedures for s in p.steps})
    return SimulationModel(
        name=name,
        start=start,
        horizon_days=horizon,
        procedures=tuple(procedures),
        agencies=agencies,
        handover=handover,
        source=f"{history.source}, {len(rows)} dossiers received {start} + {horizon} days",
    )


def _us(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _local(us: int, calendar: WorkingCalendar) -> dt.datetime:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).astimezone(
        calendar.tz
    )


def _midnight(day: dt.date, calendar: WorkingCalendar) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=calendar.tz)


def _work_hours(history: History, calendar: WorkingCalendar) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Working hours of each segment between its case's clock start and finish, and which
    segments lie there (a finished case's segment that ends at or after the start and begins at
    or before the finish)."""
    cases, segments = history.cases, history.segments
    started = cases.started[segments.case]
    finished = cases.finished[segments.case]
    inside = (segments.end != NAT) & (started != NAT) & (finished != NAT)
    inside &= (segments.end >= started) & (segments.start <= finished)
    rows = np.flatnonzero(inside)
    begin = np.maximum(segments.start[rows], started[rows])
    end = np.maximum(np.minimum(segments.end[rows], finished[rows]), begin)
    hours = np.zeros(len(segments))
    hours[rows] = (calendar.to_work_array(end) - calendar.to_work_array(begin)) / _US_PER_HOUR
    return hours, inside


def _procedure(
    history: History,
    calendar: WorkingCalendar,
    catalogue: Catalogue | None,
    rows: I64,
    measured: tuple[F64, npt.NDArray[np.bool_]],
    horizon: int,
    electronic: float | None,
    handover: HandoverDelays,
) -> ProcedureModel:
    cases, segments = history.cases, history.segments
    code = cases.procedure.names[int(cases.procedure.codes[rows[0]])]
    version = Counter(cases.version.name(int(r)) or "" for r in rows).most_common(1)[0][0]
    definition = None
    if catalogue is not None:
        try:
            definition = catalogue.get(code, version=version)
        except WorkflowError:
            definition = None
    finished = rows[(cases.finished[rows] != NAT) & (cases.started[rows] != NAT)]
    chosen = np.zeros(len(cases), dtype=np.bool_)
    chosen[finished] = True
    hours, inside = measured
    seg = np.flatnonzero(chosen[segments.case] & inside)
    share = 1.0 if electronic is None else electronic
    carry = (1 - share) * handover.paper.mean() + share * handover.electronic.mean()
    steps = _fitted_steps(history, hours, seg, finished, per_visit=definition is None, carry=carry)
    arrivals = _arrivals(history, calendar, rows, horizon)
    durations = _durations(history, calendar, finished)
    day = calendar.day_length / _US_PER_HOUR
    if definition is not None:
        model = from_definition(
            definition, arrivals, {s: w for s, (_, w, _) in steps.items()}, day_hours=day
        )
        fitted = tuple(
            replace(
                step,
                electronic_share=share,
                supplement=steps[step.id][2] if step.id in steps else None,
            )
            for step in model.steps
        )
        model = replace(model, steps=fitted)
    else:
        model = ProcedureModel(
            code=code,
            version=version,
            name=history.source,
            limit_days=_limit(history, calendar, finished),
            arrivals=arrivals,
            steps=tuple(
                StepModel(s, agency, (w,), 0.0, share, supplement)
                for s, (agency, w, supplement) in steps.items()
            ),
            paths=_variants(history, seg, set(steps), len(finished)),
        )
    if len(durations):
        tied = matched_correlation(model, handover, float(np.median(durations)))
        model = replace(model, case_correlation=tied)
    if model.baseline_days is None and len(durations):
        median = float(np.median(durations)) / day
        model = replace(model, baseline_days=median, baseline_source="history")
    return model


def _fitted_steps(
    history: History, hours: F64, seg: I64, finished: I64, *, per_visit: bool, carry: float
) -> dict[str, tuple[str, Distribution, Supplement | None]]:
    """Per step label: its most frequent agency, its work distribution and its supplements."""
    segments = history.segments
    found: dict[str, tuple[str, Distribution, Supplement | None]] = {}
    for code in np.unique(segments.step.codes[seg]):
        if code < 0:
            continue
        mine = seg[segments.step.codes[seg] == code]
        work_rows = mine[~segments.waiting[mine]]
        wait_rows = mine[segments.waiting[mine]]
        agency = Counter(segments.agency.codes[work_rows].tolist()).most_common(1)
        if not agency or agency[0][0] < 0:
            continue
        if per_visit:
            values = hours[work_rows]
        else:
            values = _per_case(segments.case[work_rows], hours[work_rows])
        values = np.maximum(values - carry, 0.0)
        supplement = None
        waits = _per_case(segments.case[wait_rows], hours[wait_rows])
        if len(waits):
            visited = len(np.unique(segments.case[mine]))
            supplement = Supplement(len(waits) / visited, Empirical.fit(waits))
        found[segments.step.names[int(code)]] = (
            segments.agency.names[agency[0][0]],
            Empirical.fit(values),
            supplement,
        )
    return found


def _per_case(case: I64, values: F64) -> F64:
    if not len(case):
        return np.empty(0)
    keys, inverse = np.unique(case, return_inverse=True)
    found: F64 = np.bincount(inverse, weights=values, minlength=len(keys)).astype(np.float64)
    return found


def _variants(history: History, seg: I64, known: set[str], cases: int) -> tuple[PathModel, ...]:
    """The step sequences of the cases, with their counts; cases with no step at all (a
    single event) take the empty path: they finish as they arrive."""
    segments = history.segments
    rows = seg[~segments.waiting[seg]]
    rows = rows[np.lexsort((segments.start[rows], segments.case[rows]))]
    paths: Counter[tuple[str, ...]] = Counter()
    names = segments.step.names
    for case_rows in np.split(rows, np.flatnonzero(np.diff(segments.case[rows])) + 1):
        steps = tuple(
            names[c]
            for c in segments.step.codes[case_rows].tolist()
            if c >= 0 and names[c] in known
        )
        if steps:
            paths[steps] += 1
    if cases > sum(paths.values()):
        paths[()] = cases - sum(paths.values())
    return tuple(PathModel(p, float(n)) for p, n in sorted(paths.items(), key=lambda x: -x[1]))


def _arrivals(history: History, calendar: WorkingCalendar, rows: I64, horizon: int) -> Arrivals:
    cases = history.cases
    channels = Counter(cases.channel.name(int(r)) or "unknown" for r in rows)
    local = [_local(int(us), calendar) for us in cases.received[rows].tolist()]
    weekdays = np.bincount([t.weekday() for t in local], minlength=7)
    hours = np.bincount([t.hour for t in local], minlength=24)
    return Arrivals(
        per_year=round(len(rows) / horizon * 365.25, 3),
        channels=tuple((c, round(n / len(rows), 6)) for c, n in sorted(channels.items())),
        weekdays=tuple(round(float(w) / len(rows), 6) for w in weekdays),
        hours=tuple(round(float(h) / len(rows), 6) for h in hours),
    )


def _durations(history: History, calendar: WorkingCalendar, rows: I64) -> F64:
    cases = history.cases
    work = (
        calendar.to_work_array(cases.finished[rows])
        - calendar.to_work_array(cases.started[rows])
        - cases.paused[rows]
    )
    found: F64 = np.maximum(work, 0) / _US_PER_HOUR
    return found


def _limit(history: History, calendar: WorkingCalendar, rows: I64) -> float | None:
    """A log's limit: the median working time from the start to the deadline, in half days."""
    due = history.cases.due[rows]
    has = due != NAT
    if not has.any():
        return None
    work = calendar.to_work_array(due[has]) - calendar.to_work_array(
        history.cases.started[rows][has]
    )
    return round(float(np.median(work)) / calendar.day_length * 2) / 2


def _staff(history: History, rows: I64, agencies: set[str]) -> tuple[AgencyModel, ...]:
    """Per agency, the most dossiers it held at once outside waits for the applicant."""
    segments = history.segments
    chosen = np.zeros(len(history.cases), dtype=np.bool_)
    chosen[rows] = True
    keep = chosen[segments.case] & ~segments.waiting & (segments.end != NAT)
    found = []
    for code in sorted(agencies):
        index = segments.agency.names.index(code) if code in segments.agency.names else -1
        mine = np.flatnonzero(keep & (segments.agency.codes == index))
        instants = np.concatenate([segments.start[mine], segments.end[mine]])
        change = np.concatenate([np.ones(len(mine)), -np.ones(len(mine))])
        order = np.lexsort((change, instants))  # an end before a start at the same instant
        peak = int(np.cumsum(change[order]).max()) if len(mine) else 1
        span = float(instants.max() - instants.min()) if len(mine) else 0.0
        load = float((segments.end[mine] - segments.start[mine]).sum()) / span if span else 0.0
        found.append(AgencyModel(code, max(peak, math.ceil(load + 3 * math.sqrt(load)), 1)))
    return tuple(found)
