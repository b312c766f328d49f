"""The simulation model: procedures, their steps and arrivals, agencies and their staff, as plain
frozen data built from the engine's own procedure definitions.

Time is counted in **working hours on the calendar's working-time line**
(:class:`~workflow.calendar.WorkingCalendar`): officers only work in working time, so a step's
work, a paper hand-over or a wait for the applicant is a length on that line, and nights,
weekends and holidays take no simulated time. Arrivals happen at calendar instants and are put on
the line (an online dossier sent on a Sunday arrives at Monday 08:00).

A procedure's dossiers follow one of its ``paths`` (a sequence of step ids; a procedure from the
catalogue has one, its steps in order up to the finish; a procedure fitted from an event log has
one per variant seen). At each step a dossier may first wait for the applicant (a supplement,
clock paused), is handed over if it comes from another agency (paper or electronic), queues for
one of the agency's officers, and holds that officer for the step's work time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.errors import Problem
from workflow.simulation.distributions import Distribution, Empirical, Fixed

WEEKDAYS = 7
PAPER_HANDOVER = Fixed(4.0)
ELECTRONIC_HANDOVER = Fixed(0.0)
HOURS = 24
#: The statuses of a state in which an agency works on the dossier (before the finish).
_WORKING_STATUSES = frozenset(
    {
        NationalStatus.SUBMITTED_ONLINE,
        NationalStatus.ACCEPTED,
        NationalStatus.PROCESSING,
        NationalStatus.SUPPLEMENT_REQUESTED,
        NationalStatus.FEE_REQUESTED,
    }
)


@dataclass(frozen=True, slots=True)
class Supplement:
    """A step asks the applicant for a supplement with ``probability``; the dossier then waits
    ``delay`` working hours, its clock paused, before the step's work."""

    probability: float
    delay: Distribution


@dataclass(frozen=True, slots=True)
class StepModel:
    """One step: the agency whose officer does it, its work time (the sum of ``work``: several
    after a merge), its share of the limit, the share of the hand-overs into it that are
    electronic, and its supplement requests."""

    id: str
    agency: str
    work: tuple[Distribution, ...]
    share_days: float = 0.0
    electronic_share: float = 0.0
    supplement: Supplement | None = None


@dataclass(frozen=True, slots=True)
class PathModel:
    """A route through the steps, taken by a ``weight`` share of the dossiers."""

    steps: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Dossiers per year, their channels' shares, and the profiles of the week (Monday first)
    and of the day (hour 0 to 23), as relative weights."""

    per_year: float
    channels: tuple[tuple[str, float], ...] = (("counter", 1.0),)
    weekdays: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    hours: tuple[float, ...] = tuple(1.0 if 8 <= h < 17 and h != 12 else 0.0 for h in range(24))


@dataclass(frozen=True, slots=True)
class ProcedureModel:
    """One procedure version as simulated. ``baseline_days`` is what the 20% goal is measured
    against (declared by the version, or the median of the history it was calibrated from).

    ``case_correlation`` (0 to 1) ties a dossier's work times together: each step's draw takes
    the dossier's own quantile with that probability, else a fresh one (a mixture copula: the
    rank correlation of two steps' times is its square). A dossier that is quick at one step
    then tends to be quick at the next, as real ones are."""

    code: str
    version: str
    limit_days: float | None
    arrivals: Arrivals
    steps: tuple[StepModel, ...]
    paths: tuple[PathModel, ...]
    name: str = ""
    cutoff: dt.time | None = None
    baseline_days: float | None = None
    baseline_source: str | None = None
    case_correlation: float = 0.0

    def step(self, step_id: str) -> StepModel:
        """The step called ``step_id`` (``KeyError`` if there is none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True, slots=True)
class AgencyModel:
    """An agency and how many officers it has; each works one dossier at a time."""

    code: str
    staff: int


@dataclass(frozen=True, slots=True)
class HandoverDelays:
    """Working hours a hand-over between two agencies takes, on paper and electronically."""

    paper: Distribution = PAPER_HANDOVER
    electronic: Distribution = ELECTRONIC_HANDOVER


@dataclass(frozen=True, slots=True)
class OpenDossier:
    """A dossier open now (``--from-current-state``): at ``step`` for ``in_step_hours``."""

    procedure: str
    step: str
    in_step_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class SimulationModel:
    """Everything one replication needs. Arrivals run from ``start`` for ``horizon_days``."""

    name: str
    start: dt.date
    horizon_days: int
    procedures: tuple[ProcedureModel, ...]
    agencies: tuple[AgencyModel, ...]
    handover: HandoverDelays = field(default_factory=HandoverDelays)
    goal: float = 0.20
    source: str = ""
    open_dossiers: tuple[OpenDossier, ...] = ()

    def procedure(self, code: str) -> ProcedureModel:
        """The procedure ``code`` (``KeyError`` if it is not simulated)."""
        for procedure in self.procedures:
            if procedure.code == code:
                return procedure
        raise KeyError(code)

    def staff(self) -> dict[str, int]:
        """Officers per agency."""
        return {a.code: a.staff for a in self.agencies}


def processing_steps(definition: ProcedureDefinition) -> list[str]:
    """The steps at which agencies work on a dossier before it is finished, in order: those
    holding a state of status 1, 2, 4, 5 or 6 (the return counter, after the finish, is not
    processing time)."""
    working = {s.step for s in definition.states if s.status in _WORKING_STATUSES and s.step}
    return [s.id for s in definition.steps if s.id in working]


def from_definition(
    definition: ProcedureDefinition,
    arrivals: Arrivals,
    work: dict[str, Distribution] | None = None,
    *,
    day_hours: float = 8.0,
) -> ProcedureModel:
    """A procedure version as simulated: its processing steps as one path. A step without a
    fitted ``work`` distribution takes half its allotted share, uniformly from none to all of
    it (a stated guess, not history)."""
    work = work or {}
    steps = []
    for step_id in processing_steps(definition):
        step = definition.step(step_id)
        fitted = work.get(step_id)
        if fitted is None:
            fitted = Empirical((0.0, step.share_days * day_hours))
        steps.append(StepModel(step.id, step.agency, (fitted,), step.share_days))
    return ProcedureModel(
        code=definition.code,
        version=definition.version,
        name=definition.name.en,
        limit_days=definition.limit_days,
        cutoff=definition.cutoff,
        baseline_days=definition.baseline_days,
        baseline_source="declared" if definition.baseline_days is not None else None,
        arrivals=arrivals,
        steps=tuple(steps),
        paths=(PathModel(tuple(s.id for s in steps)),),
    )


def check_model(model: SimulationModel) -> list[Problem]:
    """Every cross-reference problem of a model: a path naming an unknown step, a step at an
    agency without staff entry, negative or missing staff, impossible shares and weights."""
    problems: list[Problem] = []
    staff = model.staff()
    if model.horizon_days < 1:
        problems.append(Problem("horizon_days", "must be at least 1 day"))
    for a, agency in enumerate(model.agencies):
        if agency.staff < 0:
            problems.append(
                Problem(f"agencies[{a}].staff", f"negative staff ({agency.staff}); give 0 or more")
            )
    needed: set[str] = set()
    for p, procedure in enumerate(model.procedures):
        problems += [Problem(f"procedures[{p}].{f}", r) for f, r in _procedure_problems(procedure)]
        needed |= {s.agency for s in procedure.steps}
        for s, step in enumerate(procedure.steps):
            if step.agency not in staff:
                problems.append(
                    Problem(
                        f"procedures[{p}].steps[{s}].agency",
                        f"agency '{step.agency}' has no entry under agencies; add it with its "
                        "staff",
                    )
                )
    for a, agency in enumerate(model.agencies):
        if agency.staff == 0 and agency.code in needed:
            problems.append(
                Problem(
                    f"agencies[{a}].staff",
                    f"agency '{agency.code}' has no staff but steps need it; give at least 1",
                )
            )
    return problems


def _procedure_problems(procedure: ProcedureModel) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    ids = [s.id for s in procedure.steps]
    if len(set(ids)) != len(ids):
        found.append(("steps", "a step id is listed twice"))
    if not procedure.paths:
        found.append(("paths", "a procedure needs at least one path"))
    for i, path in enumerate(procedure.paths):
        if path.weight <= 0:
            found.append((f"paths[{i}].weight", f"must be above 0, not {path.weight:g}"))
        for step_id in path.steps:
            if step_id not in ids:
                found.append((f"paths[{i}].steps", f"unknown step '{step_id}'"))
    if not 0 <= procedure.case_correlation <= 1:
        found.append(("case_correlation", "must be between 0 and 1"))
    for s, step in enumerate(procedure.steps):
        if not 0 <= step.electronic_share <= 1:
            found.append((f"steps[{s}].electronic_share", "must be between 0 and 1"))
        if step.supplement is not None and not 0 <= step.supplement.probability <= 1:
            found.append((f"steps[{s}].supplement.probability", "must be between 0 and 1"))
    return found + _arrival_problems(procedure.arrivals)


def _arrival_problems(arrivals: Arrivals) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if arrivals.per_year < 0:
        found.append(("arrivals.per_year", "cannot be negative"))
    for name, values, count in (
        ("weekdays", arrivals.weekdays, WEEKDAYS),
        ("hours", arrivals.hours, HOURS),
    ):
        if len(values) != count or min(values, default=-1) < 0 or sum(values) <= 0:
            found.append((f"arrivals.{name}", f"give {count} weights, none negative, not all zero"))
    shares = [share for _, share in arrivals.channels]
    if not shares or min(shares) < 0 or sum(shares) <= 0:
        found.append(("arrivals.channels", "give each channel's share, none negative"))
    return found
