"""Dossiers (hồ sơ) and their process control sheet (phiếu kiểm soát, form 05).

A :class:`Dossier` holds its state as a plain attribute; the procedure's machine, shared by every
dossier of that version, moves it. Every change appends a :class:`ControlEvent` to its history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import NamedTuple

from workflow.definition import Channel, NationalStatus


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires a trigger: a principal (officer, system, applicant) acting for an agency."""

    principal: str
    agency: str
    role: str = "officer"


class ControlEvent(NamedTuple):
    """One row of the control sheet: a state change of one dossier. Immutable.

    ``agency``/``step`` are where the dossier was when the trigger fired, ``to_agency``/``to_step``
    where it went; a row whose two agencies differ is an inter-agency hand-over. (A named tuple
    rather than a frozen dataclass: it is built on every transition, and costs a third as much.)
    """

    seq: int
    at: dt.datetime
    trigger: str
    from_state: str | None
    to_state: str
    status: NationalStatus
    actor: str
    actor_agency: str
    agency: str
    step: str | None
    to_agency: str
    to_step: str | None
    note: str | None = None

    @property
    def is_handover(self) -> bool:
        """True when the dossier changed agency with this event."""
        return self.agency != self.to_agency


@dataclass(slots=True, eq=False)
class Dossier:
    """A citizen's or business's request under one procedure version.

    ``applicant_ref`` is a reference the applicant can quote (a receipt number or a keyed
    pseudonym); never a citizen identity number. ``applicant_id`` is that identity number, personal
    data under Decree 13/2023: it is never printed (``repr`` leaves it out), and the store keeps it
    only encrypted and as a keyed pseudonym.

    ``version`` is the store's optimistic-concurrency counter: the version read; a save succeeds
    only if nobody saved a newer one meanwhile.

    ``clock_started_at``, ``due_at``, ``finished_at`` and ``verdict`` are kept up to date by the
    engine from the SLA clock (they can all be derived from the history; they are kept so that
    the store can index and query them). ``due_at`` is the current appointment (return) date;
    ``reset_due_at`` is the new return date of an apology (form 04), given at ``reset_at``;
    ``due_resets`` counts such resets (at most one).

    ``step_started_at`` and ``step_due_at`` are the current step's clock (its share of the limit
    from when the dossier entered it, moved by the pauses in it); ``assignee`` is the officer
    who last acted on the dossier at its current agency (``None`` just after a hand-over).
    Like ``due_at``, the engine keeps them current so that the store can index them.
    """

    code: str
    procedure_code: str
    procedure_version: str
    channel: Channel
    applicant_ref: str
    received_at: dt.datetime
    state: str
    status: NationalStatus
    agency: str
    step: str | None
    documents: tuple[str, ...] = ()
    supplement_requests: int = 0
    fee_due: int | None = None
    fee_paid: bool = False
    result_ref: str | None = None
    result_electronic: bool = False
    clock_started_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    verdict: str | None = None
    due_resets: int = 0
    reset_at: dt.datetime | None = None
    reset_due_at: dt.datetime | None = None
    step_started_at: dt.datetime | None = None
    step_due_at: dt.datetime | None = None
    assignee: str | None = None
    applicant_id: str | None = field(default=None, repr=False)
    version: int = 0
    history: list[ControlEvent] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        """True once the dossier has reached a final state."""
        return self.status.closes

    def handovers(self) -> list[ControlEvent]:
        """The control-sheet rows at which the dossier moved from one agency to another."""
        return [event for event in self.history if event.is_handover]

    def copy(self) -> Dossier:
        """An equal dossier with its own history list (the rows themselves are immutable):
        changing either leaves the other alone. A fifth of ``dataclasses.replace``'s cost; the
        store's cache copies a dossier twice per action."""
        twin = Dossier(*_FIELDS(self))
        twin.history = list(self.history)
        return twin


#: every field of a Dossier, in the constructor's order
_FIELDS = attrgetter(*(f.name for f in fields(Dossier)))
