"""The declarative model of a procedure version, as validated from a procedure file.

A :class:`ProcedureDefinition` is plain, frozen data. Field-level rules (types, ranges, formats)
live here; rules that relate fields to each other, to the agency directory or to the registry of
guards and actions live in :mod:`workflow.checks`, so that every problem of a file is reported at
once.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

#: Names of states, steps, triggers, guards and actions: lower-case identifiers.
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class Channel(StrEnum):
    """How a dossier reached the agency."""

    ONLINE = "online"
    COUNTER = "counter"
    POST = "post"


class NationalStatus(IntEnum):
    """Dossier status as reported to the national portal (field ``TrangThaiHoSo``)."""

    SUBMITTED_ONLINE = 1
    ACCEPTED = 2
    NOT_ACCEPTED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FEE_REQUESTED = 6
    WITHDRAWN = 7
    STOPPED = 8
    FINISHED = 9
    RESULT_RETURNED = 10

    @property
    def closes(self) -> bool:
        """True for the statuses after which nothing more happens to a dossier."""
        return self in _CLOSING


_CLOSING = frozenset(
    {
        NationalStatus.NOT_ACCEPTED,
        NationalStatus.WITHDRAWN,
        NationalStatus.STOPPED,
        NationalStatus.RESULT_RETURNED,
    }
)


class Frozen(BaseModel):
    """Base of every definition model: immutable, and unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Name(Frozen):
    """A name in Vietnamese and in English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


def _listify(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Step(Frozen):
    """One step of a procedure: who holds the dossier and how much of the time they have."""

    id: Identifier
    name: Name
    agency: str = Field(min_length=1, description="an agency code from the agency directory")
    role: str = Field(min_length=1, description="who acts at this step, e.g. civil-status officer")
    share_days: float = Field(
        ge=0, description="allotted share of the statutory time, in working days"
    )

    @field_validator("share_days")
    @classmethod
    def _half_hours(cls, value: float) -> float:
        if not (value * 16).is_integer():
            raise ValueError("must be a whole number of half working hours (a multiple of 1/16)")
        return value


class StateDef(Frozen):
    """A state of the lifecycle, mapped to its national status code."""

    name: Identifier
    status: NationalStatus
    step: Identifier | None = Field(
        default=None, description="the step whose agency holds the dossier in this state"
    )
    final: bool = False
    description: str | None = None


class TransitionDef(Frozen):
    """A transition: on ``trigger``, from any of ``source`` to ``dest`` if every guard passes."""

    trigger: Identifier
    source: Annotated[list[Identifier], BeforeValidator(_listify), Field(min_length=1)]
    dest: Identifier
    guards: list[Identifier] = Field(default_factory=list)
    actions: list[Identifier] = Field(default_factory=list)


class DocumentDef(Frozen):
    """A paper of the dossier (thành phần hồ sơ)."""

    kind: Identifier
    name: Name
    required: bool = True


class ProcedureDefinition(Frozen):
    """One version of one administrative procedure."""

    code: str = Field(
        pattern=r"^(\d\.\d{6}|[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*)$",
        description="national code (e.g. 1.001193) or, where none was found, a local code "
        "such as HN-XD-NORL",
    )
    code_is_national: bool = True
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$", max_length=32)
    name: Name
    effective_from: dt.date
    legal_basis: list[str] = Field(min_length=1)
    limit_days: float = Field(ge=0, le=365, description="statutory limit; 0 means same day")
    extended_limit_days: float | None = Field(
        default=None, description="limit when verification or a bulky request extends it"
    )
    cutoff: dt.time | None = Field(
        default=None, description="same-day cut-off; later receipts count from the next day"
    )
    baseline_days: float | None = Field(
        default=None, gt=0, description="declared baseline for the 20% reduction goal"
    )
    channels: list[Channel] = Field(min_length=1)
    documents: list[DocumentDef] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    initial: Identifier
    states: list[StateDef] = Field(min_length=2)
    transitions: list[TransitionDef] = Field(min_length=1)
    notes: str | None = None

    @field_validator("limit_days", "extended_limit_days")
    @classmethod
    def _half_days(cls, value: float | None) -> float | None:
        if value is not None and not (value * 2).is_integer():
            raise ValueError("must be a whole or half number of working days (e.g. 3 or 0.5)")
        return value

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value

    @property
    def key(self) -> tuple[str, str]:
        """``(code, version)``: what identifies this definition in a catalogue."""
        return (self.code, self.version)

    def state(self, name: str) -> StateDef:
        """The state called ``name`` (``KeyError`` if there is none)."""
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def step(self, step_id: str) -> Step:
        """The step with id ``step_id`` (``KeyError`` if there is none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def agencies(self) -> list[str]:
        """Agency codes of the steps, in step order, without repeats."""
        return list(dict.fromkeys(step.agency for step in self.steps))
