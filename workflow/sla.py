"""The SLA clock of a dossier and of each of its steps, read from its control sheet.

Everything here is derived from the dossier's history and its procedure version, on a
:class:`~workflow.calendar.WorkingCalendar`:

- the clock starts when the dossier is accepted (status 2);
- it pauses while a supplement or a fee is awaited (statuses 5 and 6) after it started;
- the dossier is due ``limit_days`` working days after the start, plus the paused working time;
  once the return date has been reset by an apology (form 04), it is due at the new date plus the
  working time paused after the reset;
- each step is due its ``share_days`` after the dossier entered it, plus its own pauses.

Verdicts (the control sheet's column): **late** when done after the due instant, or, for the
dossier, when more than one supplement was requested (Decision 766); **on time** when done on the
due instant's day and not after it; **early** when done on an earlier day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from workflow.calendar import Pause, WorkingCalendar
from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import ControlEvent, Dossier

PAUSING = frozenset({NationalStatus.SUPPLEMENT_REQUESTED, NationalStatus.FEE_REQUESTED})
DONE = frozenset({NationalStatus.FINISHED, NationalStatus.RESULT_RETURNED})
_HOUR = dt.timedelta(hours=1)


class Verdict(StrEnum):
    """How a finished dossier or hand-over stands against its due instant."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class Standing(StrEnum):
    """Where an open dossier or step stands now."""

    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PAUSED = "paused"
    DONE = "done"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Thresholds of the SLA watch. ``risk_share``: at risk below this share of the allotment."""

    risk_share: float = 0.2


@dataclass(frozen=True, slots=True)
class StepClock:
    """One visit of the dossier to one step: a row of the control sheet's hand-over table."""

    step: str
    agency: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    allotted_hours: float
    paused_hours: float
    used_hours: float
    due_at: dt.datetime
    standing: Standing
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class DossierClock:
    """The dossier's clock at one instant."""

    started_at: dt.datetime | None
    due_at: dt.datetime | None
    limit_days: float
    pauses: tuple[Pause, ...]
    paused_hours: float
    remaining_hours: float | None
    standing: Standing
    verdict: Verdict | None
    finished_at: dt.datetime | None
    supplement_requests: int
    apology_due_by: dt.datetime | None
    owes_apology: bool


def verdict(done_at: dt.datetime, due_at: dt.datetime, calendar: WorkingCalendar) -> Verdict:
    """Early, on time or late: see the module docstring."""
    if done_at > due_at:
        return Verdict.LATE
    if done_at.astimezone(calendar.tz).date() == due_at.astimezone(calendar.tz).date():
        return Verdict.ON_TIME
    return Verdict.EARLY


def pause_spans(
    events: list[ControlEvent], since: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Stretches at or after ``since`` spent waiting for a supplement or a fee (statuses 5, 6),
    as (start, end); the end is ``None`` while the wait goes on."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = []
    opened: dt.datetime | None = None
    for event in events:
        if event.at < since:
            continue
        if event.status in PAUSING and opened is None:
            opened = event.at
        elif event.status not in PAUSING and opened is not None:
            spans.append((opened, event.at))
            opened = None
    if opened is not None:
        spans.append((opened, None))
    return spans


def _pauses(events: list[ControlEvent], since: dt.datetime, until: dt.datetime) -> list[Pause]:
    """The pause spans, a wait still going on counted up to ``until``."""
    return [Pause(start, end or max(start, until)) for start, end in pause_spans(events, since)]


_ACCEPTED = frozenset({NationalStatus.ACCEPTED})


def _first(events: list[ControlEvent], statuses: frozenset[NationalStatus]) -> ControlEvent | None:
    return next((e for e in events if e.status in statuses), None)


def dossier_clock(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    at: dt.datetime,
    policy: SlaPolicy = SlaPolicy(),
) -> DossierClock:
    """The dossier's clock as it stands at instant ``at``."""
    history = dossier.history
    accepted = _first(history, _ACCEPTED)
    finished = _first(history, DONE)
    limit = definition.limit_days
    if accepted is None:
        standing = Standing.CLOSED if dossier.closed else Standing.NOT_STARTED
        return DossierClock(
            None,
            None,
            limit,
            (),
            0.0,
            None,
            standing,
            None,
            None,
            dossier.supplement_requests,
            None,
            False,
        )
    end = finished.at if finished else at
    pauses = _pauses(history, accepted.at, end)
    due = _due(dossier, definition, calendar, accepted.at, pauses)
    started = calendar.clock_start(accepted.at, same_day=limit == 0, cutoff=definition.cutoff)
    paused = calendar.paused(started, pauses) / _HOUR
    allotment = max(limit, 1.0) * calendar.day_length / 3.6e9
    apology_by = calendar.from_work(calendar.to_work(due) - calendar.day_length)
    if finished is not None:
        result = verdict(finished.at, due, calendar)
        if dossier.supplement_requests > 1:
            result = Verdict.LATE
        return DossierClock(
            started,
            due,
            limit,
            tuple(pauses),
            paused,
            None,
            Standing.DONE,
            result,
            finished.at,
            dossier.supplement_requests,
            apology_by,
            False,
        )
    remaining = calendar.working_time(at, due) / _HOUR
    if dossier.closed:
        standing = Standing.CLOSED
    elif dossier.status in PAUSING:
        standing = Standing.PAUSED
    else:
        standing = _standing(at, due, remaining, allotment, policy)
    owes = standing in (Standing.AT_RISK, Standing.OVERDUE) and dossier.due_resets == 0
    return DossierClock(
        started,
        due,
        limit,
        tuple(pauses),
        paused,
        remaining,
        standing,
        None,
        None,
        dossier.supplement_requests,
        apology_by,
        owes,
    )


def _due(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    accepted: dt.datetime,
    pauses: list[Pause],
) -> dt.datetime:
    if dossier.reset_due_at is not None and dossier.reset_at is not None:
        after = [p for p in pauses if p.end > dossier.reset_at]
        return calendar.add(dossier.reset_due_at, calendar.paused(dossier.reset_at, after))
    return calendar.due(accepted, definition.limit_days, pauses, cutoff=definition.cutoff)


def due_at(
    dossier: Dossier, definition: ProcedureDefinition, calendar: WorkingCalendar, at: dt.datetime
) -> dt.datetime | None:
    """The dossier's due instant as of ``at`` (a pause still open counts up to ``at``).

    ``None`` before the dossier is accepted. This is the cheap part of :func:`dossier_clock`,
    which the engine calls after every change that can move the due instant.
    """
    history = dossier.history
    accepted = _first(history, _ACCEPTED)
    if accepted is None:
        return None
    finished = _first(history, DONE)
    pauses = _pauses(history, accepted.at, finished.at if finished else at)
    return _due(dossier, definition, calendar, accepted.at, pauses)


def _standing(
    at: dt.datetime, due: dt.datetime, remaining: float, allotment: float, policy: SlaPolicy
) -> Standing:
    if at > due:
        return Standing.OVERDUE
    if remaining < policy.risk_share * allotment:
        return Standing.AT_RISK
    return Standing.ON_TRACK


def step_clocks(
    dossier: Dossier,
    definition: ProcedureDefinition,
    calendar: WorkingCalendar,
    at: dt.datetime,
    policy: SlaPolicy = SlaPolicy(),
) -> list[StepClock]:
    """One clock per visit of the dossier to a step, in order; the last may still be open."""
    shares = {step.id: step.share_days for step in definition.steps}
    visits: list[tuple[str, str, int, int | None]] = []  # step, agency, first event, end event
    history = dossier.history
    for index, event in enumerate(history):
        if event.to_step is None:
            continue
        if not visits or event.to_step != visits[-1][0]:
            if visits:
                step, agency, first, _ = visits[-1]
                visits[-1] = (step, agency, first, index)
            visits.append((event.to_step, event.to_agency, index, None))
    if visits and dossier.closed:
        step, agency, first, _ = visits[-1]
        visits[-1] = (step, agency, first, len(history) - 1)
    return [
        _visit(history, calendar, at, policy, step, agency, first, last, shares.get(step, 0.0))
        for step, agency, first, last in visits
    ]


def _visit(
    history: list[ControlEvent],
    calendar: WorkingCalendar,
    at: dt.datetime,
    policy: SlaPolicy,
    step: str,
    agency: str,
    first: int,
    last: int | None,
    share: float,
) -> StepClock:
    started = history[first].at
    ended = history[last].at if last is not None else None
    events = history[first : (last + 1 if last is not None else None)]
    pauses = _pauses(events, started, ended or at)
    paused = calendar.paused(started, pauses)
    allotted = dt.timedelta(microseconds=round(share * calendar.day_length))
    due = calendar.add(started, allotted + paused)
    used = (calendar.working_time(started, ended or at) - paused) / _HOUR
    if ended is not None:
        return StepClock(
            step,
            agency,
            started,
            ended,
            allotted / _HOUR,
            paused / _HOUR,
            used,
            due,
            Standing.DONE,
            verdict(ended, due, calendar),
        )
    remaining = calendar.working_time(at, due) / _HOUR
    standing = (
        Standing.PAUSED
        if history[-1].status in PAUSING
        else _standing(at, due, remaining, allotted / _HOUR, policy)
    )
    return StepClock(
        step, agency, started, None, allotted / _HOUR, paused / _HOUR, used, due, standing, None
    )
