"""The engine facade: open dossiers under the right procedure version and fire triggers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from workflow.calendar import WorkingCalendar, require_aware
from workflow.catalogue import Catalogue
from workflow.definition import Channel, NationalStatus, ProcedureDefinition
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.errors import DueResetRefused, InvalidDossier
from workflow.ports import Clock
from workflow.sla import (
    DossierClock,
    SlaPolicy,
    StepClock,
    Verdict,
    dossier_clock,
    due_at,
    step_clocks,
    verdict,
)

#: Trigger name recorded on the first control-sheet row of every dossier.
RECEIVE = "receive"
#: Trigger name recorded when the return date is reset with an apology (form 04).
APOLOGISE = "apologise"
#: Trigger name recorded when a reorganisation hands an open dossier to a successor agency.
TRANSFER = "transfer"
_SUPPLEMENT, _FEE = NationalStatus.SUPPLEMENT_REQUESTED, NationalStatus.FEE_REQUESTED
_FINISHED, _RETURNED = NationalStatus.FINISHED, NationalStatus.RESULT_RETURNED


class Engine:
    """Runs dossiers through the catalogue's machines, with time from an injected clock.

    The engine keeps each dossier's ``due_at`` current: it is set when the dossier is accepted
    and moved when a pause (supplement, fee) ends or the return date is reset.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        clock: Clock,
        calendar: WorkingCalendar | None = None,
        policy: SlaPolicy | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.calendar = calendar if calendar is not None else WorkingCalendar()
        self.policy = policy if policy is not None else SlaPolicy()

    def open(
        self,
        *,
        code: str,
        procedure: str,
        channel: Channel | str,
        applicant_ref: str,
        actor: Actor,
        documents: Iterable[str] = (),
        received_at: dt.datetime | None = None,
        version: str | None = None,
    ) -> Dossier:
        """A new dossier in its procedure's initial state, with its first control-sheet row.

        The procedure version is ``version`` if given, else the one in force on the day of
        receipt. The channel must be one the procedure offers.
        """
        at = require_aware(received_at or self.clock.now(), "received_at")
        definition = self.catalogue.get(procedure, version=version, on=at.date())
        try:
            channel = Channel(channel)
        except ValueError:
            raise InvalidDossier(
                f"unknown channel '{channel}'; use one of: {', '.join(c.value for c in Channel)}"
            ) from None
        if channel not in definition.channels:
            offered = ", ".join(c.value for c in definition.channels)
            raise InvalidDossier(
                f"procedure {definition.code} is not offered via '{channel.value}'; "
                f"offered: {offered}"
            )
        machine = self.catalogue.machine(definition.code, definition.version)
        initial = definition.initial
        agency, step = machine.place_of(initial) or (actor.agency, None)
        status = machine.status_of(initial)
        dossier = Dossier(
            code=code,
            procedure_code=definition.code,
            procedure_version=definition.version,
            channel=channel,
            applicant_ref=applicant_ref,
            received_at=at,
            state=initial,
            status=status,
            agency=agency,
            step=step,
            documents=tuple(dict.fromkeys(documents)),
        )
        dossier.history.append(
            ControlEvent(
                seq=1,
                at=at,
                trigger=RECEIVE,
                from_state=None,
                to_state=initial,
                status=status,
                actor=actor.principal,
                actor_agency=actor.agency,
                agency=agency,
                step=step,
                to_agency=agency,
                to_step=step,
            )
        )
        dossier.assignee = actor.principal
        if step is not None:
            share = definition.step(step).share_days
            dossier.step_started_at = at
            dossier.step_due_at = self.calendar.add(
                at, dt.timedelta(microseconds=round(share * self.calendar.day_length))
            )
        return dossier

    def fire(
        self,
        dossier: Dossier,
        trigger: str,
        *,
        actor: Actor,
        note: str | None = None,
        payload: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> ControlEvent:
        """Apply ``trigger`` to ``dossier`` now, or at ``at``.

        See :meth:`~workflow.machine.ProcedureMachine.fire` for the errors it raises.
        """
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        machine = self.catalogue.machine(dossier.procedure_code, dossier.procedure_version)
        before = dossier.status
        event = machine.fire(dossier, trigger, actor=actor, at=instant, note=note, payload=payload)
        if event.is_handover:  # to an agency since replaced: to its successor instead
            heir = self._heir(event.to_agency, instant)
            if heir != event.to_agency:
                event = event._replace(to_agency=heir)
                dossier.history[-1] = event
                dossier.agency = heir
        # the due instant moves only when the clock starts and when a pause ends
        status = event.status
        if status is NationalStatus.ACCEPTED and dossier.due_at is None:
            definition = machine.definition
            dossier.due_at = self.calendar.due(
                instant, definition.limit_days, cutoff=definition.cutoff
            )
            dossier.clock_started_at = self.calendar.clock_start(
                instant, same_day=definition.limit_days == 0, cutoff=definition.cutoff
            )
        elif before is _SUPPLEMENT or before is _FEE:
            dossier.due_at = due_at(dossier, machine.definition, self.calendar, instant)
        elif (status is _FINISHED or status is _RETURNED) and dossier.finished_at is None:
            dossier.finished_at = instant
            if dossier.due_at is not None:
                judged = verdict(instant, dossier.due_at, self.calendar)
                late = dossier.supplement_requests > 1  # Decision 766
                dossier.verdict = (Verdict.LATE if late else judged).value
        self._step_clock(dossier, event, before, machine.definition)
        return event

    def _step_clock(
        self,
        dossier: Dossier,
        event: ControlEvent,
        before: NationalStatus,
        definition: ProcedureDefinition,
    ) -> None:
        """Keep the current step's clock and assignee: a new step starts its share of the
        limit; the end of a pause in the same step moves its due instant by the working time
        the pause took (as :func:`~workflow.sla.step_clocks` counts it)."""
        dossier.assignee = None if event.is_handover else event.actor
        if event.to_step != event.step:
            dossier.step_started_at = event.at if event.to_step is not None else None
            dossier.step_due_at = None
            if event.to_step is not None:
                share = definition.step(event.to_step).share_days
                allotted = dt.timedelta(microseconds=round(share * self.calendar.day_length))
                dossier.step_due_at = self.calendar.add(event.at, allotted)
        elif (before is _SUPPLEMENT or before is _FEE) and dossier.step_due_at is not None:
            paused_from = max(dossier.history[-2].at, dossier.step_started_at or event.at)
            waited = self.calendar.working_time(paused_from, event.at)
            dossier.step_due_at = self.calendar.add(dossier.step_due_at, waited)

    def clock_of(self, dossier: Dossier, at: dt.datetime | None = None) -> DossierClock:
        """The dossier's SLA clock at ``at`` (default: now)."""
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        return dossier_clock(
            dossier, self._definition(dossier), self.calendar, instant, self.policy
        )

    def steps_of(self, dossier: Dossier, at: dt.datetime | None = None) -> list[StepClock]:
        """The clock of every step the dossier has visited, with its hand-over verdict."""
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        return step_clocks(dossier, self._definition(dossier), self.calendar, instant, self.policy)

    def apologise(
        self,
        dossier: Dossier,
        *,
        new_due: dt.datetime,
        actor: Actor,
        note: str,
        at: dt.datetime | None = None,
    ) -> ControlEvent:
        """Reset the return date with an apology (form 04); allowed once per dossier.

        Raises :class:`DueResetRefused` on a second reset, and :class:`InvalidDossier` when the
        dossier has no running clock, the new date is not later than the current one, or no
        reason is given. The dossier is unchanged on error.
        """
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        require_aware(new_due, "new_due")
        if dossier.due_resets >= 1:
            raise DueResetRefused(
                f"dossier {dossier.code}: the return date was already reset on "
                f"{dossier.reset_at.isoformat() if dossier.reset_at else '?'} to "
                f"{dossier.reset_due_at.isoformat() if dossier.reset_due_at else '?'}; "
                "it may be reset once only (form 04)"
            )
        current = self.clock_of(dossier, at=instant)
        if current.due_at is None or current.verdict is not None or dossier.closed:
            raise InvalidDossier(
                f"dossier {dossier.code}: no running clock to reset (state '{dossier.state}')"
            )
        if new_due <= current.due_at:
            raise InvalidDossier(
                f"dossier {dossier.code}: the new return date {new_due.isoformat()} must be "
                f"later than the current one {current.due_at.isoformat()}"
            )
        if not note.strip():
            raise InvalidDossier(f"dossier {dossier.code}: an apology must state its reason")
        event = _standing_row(dossier, APOLOGISE, actor, instant, dossier.agency, note)
        dossier.history.append(event)
        dossier.due_resets += 1
        dossier.reset_at = instant
        dossier.reset_due_at = new_due
        dossier.due_at = due_at(dossier, self._definition(dossier), self.calendar, instant)
        return event

    def transfer(
        self, dossier: Dossier, *, actor: Actor, at: dt.datetime | None = None
    ) -> ControlEvent | None:
        """Hand an open dossier whose agency was replaced (reorganisation) to the successor in
        force at ``at``: a control-sheet row from the old agency to the new one, in the same
        state and step. Its clocks and history are untouched. ``None`` if there is nothing to
        do (closed, or its agency is still in force)."""
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        if dossier.closed:
            return None
        heir = self._heir(dossier.agency, instant)
        if heir == dossier.agency:
            return None
        note = f"reorganisation: agency {dossier.agency} was replaced by {heir}"
        event = _standing_row(dossier, TRANSFER, actor, instant, heir, note)
        dossier.history.append(event)
        dossier.agency = heir
        return event

    def reception_of(self, dossier: Dossier, at: dt.datetime | None = None) -> str:
        """The agency that receives the dossier's papers now: its procedure version's first
        step's agency, or that agency's successor once it was replaced (reorganisation)."""
        machine = self.catalogue.machine(dossier.procedure_code, dossier.procedure_version)
        instant = require_aware(at, "at") if at is not None else self.clock.now()
        return self._heir(machine.definition.steps[0].agency, instant)

    def _heir(self, agency: str, instant: dt.datetime) -> str:
        """The agency that holds ``agency``'s work on the local day of ``instant``."""
        directory = self.catalogue.agencies
        if agency not in directory:
            return agency
        day = instant.astimezone(self.calendar.tz).date()
        found = directory.get(agency)
        if found.in_force(day) or found.successor is None or day < found.effective_from:
            return agency
        return directory.successor_on(agency, day).code

    def _definition(self, dossier: Dossier) -> ProcedureDefinition:
        return self.catalogue.machine(dossier.procedure_code, dossier.procedure_version).definition

    def allowed_triggers(self, dossier: Dossier) -> tuple[str, ...]:
        """The triggers that have a transition from the dossier's current state."""
        machine = self.catalogue.machine(dossier.procedure_code, dossier.procedure_version)
        return machine.allowed_triggers(dossier.state)


def _standing_row(
    dossier: Dossier, trigger: str, actor: Actor, at: dt.datetime, to_agency: str, note: str
) -> ControlEvent:
    """A control-sheet row that leaves state and step as they are (an apology, a transfer)."""
    return ControlEvent(
        seq=len(dossier.history) + 1,
        at=at,
        trigger=trigger,
        from_state=dossier.state,
        to_state=dossier.state,
        status=dossier.status,
        actor=actor.principal,
        actor_agency=actor.agency,
        agency=dossier.agency,
        step=dossier.step,
        to_agency=to_agency,
        to_step=dossier.step,
        note=note,
    )
