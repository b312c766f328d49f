"""The engine facade: open dossiers under the right procedure version and fire triggers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from workflow.catalogue import Catalogue
from workflow.definition import Channel
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.errors import InvalidDossier
from workflow.ports import Clock

#: Trigger name recorded on the first control-sheet row of every dossier.
RECEIVE = "receive"


def _aware(instant: dt.datetime, what: str) -> dt.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidDossier(
            f"{what} {instant.isoformat()} has no timezone; give an aware instant such as "
            f"{instant.isoformat()}+07:00"
        )
    return instant


class Engine:
    """Runs dossiers through the catalogue's machines, with time from an injected clock."""

    def __init__(self, catalogue: Catalogue, clock: Clock) -> None:
        self.catalogue = catalogue
        self.clock = clock

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
        at = _aware(received_at or self.clock.now(), "received_at")
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
        instant = _aware(at, "at") if at is not None else self.clock.now()
        machine = self.catalogue.machine(dossier.procedure_code, dossier.procedure_version)
        return machine.fire(dossier, trigger, actor=actor, at=instant, note=note, payload=payload)

    def allowed_triggers(self, dossier: Dossier) -> tuple[str, ...]:
        """The triggers that have a transition from the dossier's current state."""
        machine = self.catalogue.machine(dossier.procedure_code, dossier.procedure_version)
        return machine.allowed_triggers(dossier.state)
