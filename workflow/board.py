"""The SLA board: where every open dossier and every open step stands at one instant.

A dossier or step whose clock runs is **overdue** once its due instant has passed, **at risk**
while the working time left is under ``policy.risk_share`` of its allotment (the limit, at
least one working day, for a dossier; the step's share for a step), else **on track**; one that
waits for the applicant (a supplement or a fee) is **paused**. This is the rule of
:mod:`workflow.sla`, stated as instants so that a store can count it with index range scans:
a clock is at risk from ``risk_from(due)``, the instant from which less than that share is left.

The board groups the counts by agency, by procedure version and by officer (the assignee: who
last acted on the dossier at its agency), and lists the first overdue and at-risk dossiers and
steps, the dossiers whose apology (form 04) is due or overdue, the hand-overs given up as
undeliverable, and the open dossiers asked for a supplement more than once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflow.calendar import WorkingCalendar
from workflow.sla import SlaPolicy, Standing


@dataclass(frozen=True, slots=True)
class Counts:
    """How many clocks stand where. ``not_started``: dossiers received but not yet accepted,
    whose clock has not started (their reception step's clock has)."""

    on_track: int = 0
    at_risk: int = 0
    overdue: int = 0
    paused: int = 0
    not_started: int = 0

    @property
    def open(self) -> int:
        return self.on_track + self.at_risk + self.overdue + self.paused + self.not_started

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.on_track + other.on_track,
            self.at_risk + other.at_risk,
            self.overdue + other.overdue,
            self.paused + other.paused,
            self.not_started + other.not_started,
        )


@dataclass(frozen=True, slots=True)
class Group:
    """The counts of one agency, procedure version or officer: dossiers and their open steps."""

    key: str
    dossiers: Counts
    steps: Counts


@dataclass(frozen=True, slots=True)
class Cell:
    """The dossiers of one procedure version at one agency (a cell of agency x procedure)."""

    agency: str
    procedure: str
    dossiers: Counts


@dataclass(frozen=True, slots=True)
class Item:
    """One dossier (or its current step) on a list of the board. ``hours``: working hours left
    before ``due_at`` (negative: hours overdue)."""

    code: str
    procedure: str
    version: str
    agency: str
    step: str | None
    assignee: str | None
    due_at: dt.datetime
    hours: float
    standing: Standing


@dataclass(frozen=True, slots=True)
class Handover:
    """An inter-agency hand-over given up as undeliverable (no receipt after every retry)."""

    message_id: str
    dossier_code: str
    from_agency: str
    to_agency: str
    service: str
    created_at: dt.datetime
    undeliverable_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Board:
    """The SLA board at ``at`` (of one ``agency``, or of all)."""

    at: dt.datetime
    agency: str | None
    dossiers: Counts
    steps: Counts
    by_agency: tuple[Group, ...]
    by_procedure: tuple[Group, ...]
    by_officer: tuple[Group, ...]
    cells: tuple[Cell, ...]
    overdue: tuple[Item, ...]
    at_risk: tuple[Item, ...]
    overdue_steps: tuple[Item, ...]
    apology_due: tuple[Item, ...]
    undeliverable: tuple[Handover, ...]
    repeat_supplements: tuple[Item, ...]
    totals: dict[str, int] = field(default_factory=dict)  # the full size of each list


def risk_from(
    due: dt.datetime, allotted_days: float, calendar: WorkingCalendar, policy: SlaPolicy
) -> dt.datetime:
    """The instant from which a clock due at ``due`` with an allotment of ``allotted_days``
    working days is at risk: from then on less than ``policy.risk_share`` of it is left."""
    margin = round(policy.risk_share * allotted_days * calendar.day_length)
    return calendar.from_work(calendar.to_work(due) - margin)


def risk_horizon(
    at: dt.datetime, allotted_days: float, calendar: WorkingCalendar, policy: SlaPolicy
) -> dt.datetime:
    """Clocks due before this instant are at risk (or overdue) at ``at``: those with less than
    the risk share of ``allotted_days`` left. A store counts ``due < horizon``."""
    margin = round(policy.risk_share * allotted_days * calendar.day_length)
    return calendar.from_work(calendar.to_work(at) + margin)


def standing(
    at: dt.datetime, due: dt.datetime, horizon: dt.datetime, paused: bool = False
) -> Standing:
    """Paused, overdue, at risk or on track (``horizon`` from :func:`risk_horizon`)."""
    if paused:
        return Standing.PAUSED
    if due < at:
        return Standing.OVERDUE
    if due < horizon:
        return Standing.AT_RISK
    return Standing.ON_TRACK


def hours_left(at: dt.datetime, due: dt.datetime, calendar: WorkingCalendar) -> float:
    """Working hours from ``at`` to ``due`` (negative once overdue)."""
    return calendar.working_time(at, due) / dt.timedelta(hours=1)


def dossier_allotment(limit_days: float) -> float:
    """A dossier's allotment for the risk rule: its limit, at least one working day (as
    :func:`workflow.sla.dossier_clock` counts it)."""
    return max(limit_days, 1.0)
