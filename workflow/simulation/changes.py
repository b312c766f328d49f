"""What a scenario can change in a baseline model, as data; :mod:`workflow.simulation.apply`
applies them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShortenWork:
    """A step's work time (every step's, without ``step``) made shorter by ``by`` (0.3: 30%)."""

    procedure: str
    by: float
    step: str | None = None


@dataclass(frozen=True, slots=True)
class ShortenLimit:
    """The procedure's limit shortened by ``by`` of itself, or by ``by`` of one step's share."""

    procedure: str
    by: float
    step: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveStep:
    """A step dropped: its dossiers go straight from the step before to the step after."""

    procedure: str
    step: str


@dataclass(frozen=True, slots=True)
class MergeSteps:
    """Steps merged into the first: one officer of its agency does all their work, with no
    hand-over between them; the shares add up."""

    procedure: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetStaff:
    """An agency's officers set to ``staff``, or changed by ``add`` (negative: fewer)."""

    agency: str
    staff: int | None = None
    add: int = 0


@dataclass(frozen=True, slots=True)
class MoveStaff:
    """``count`` officers moved from one agency to another."""

    source: str
    target: str
    count: int


@dataclass(frozen=True, slots=True)
class ElectronicHandover:
    """Hand-overs into a step (every step of the procedure, or of every procedure) made
    electronic for a ``share`` of the dossiers (1: all)."""

    procedure: str | None = None
    step: str | None = None
    share: float = 1.0


@dataclass(frozen=True, slots=True)
class Demand:
    """Arrivals changed by ``by`` (0.3: 30% more; -0.1: 10% fewer), for one procedure or all,
    for one channel or all."""

    by: float
    procedure: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class SwitchVersion:
    """A procedure switched to another version of the catalogue: its steps, agencies, limit and
    cut-off; steps with the same id keep their work times, a new agency takes the staff of the
    agency that held the step before."""

    procedure: str
    version: str


Change = (
    ShortenWork
    | ShortenLimit
    | RemoveStep
    | MergeSteps
    | SetStaff
    | MoveStaff
    | ElectronicHandover
    | Demand
    | SwitchVersion
)
