"""One ``transitions`` machine per procedure version, shared by every dossier of that version.

The machine is built once from a checked :class:`~workflow.definition.ProcedureDefinition`, with
``auto_transitions`` off and guards and actions taken from the registry. It never holds a dossier:
each trigger runs on a fresh :class:`~workflow.firing.Firing`, and the dossier is updated only
after the whole transition has succeeded.

Callback order within one trigger (the ``transitions`` order): the guards, in file order, as
``conditions``; then the actions, in file order, as ``before`` callbacks; then the state change.
The first transition of the trigger whose guards all pass is taken.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast

from transitions import EventData, Machine, State

from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.errors import ActionFailed, GuardRejected, TransitionError, TriggerNotAllowed
from workflow.firing import Firing
from workflow.registry import Action, Guard, Registry

log = logging.getLogger(__name__)

_EMPTY: Mapping[str, Any] = {}


def _condition(name: str, guard: Guard) -> Any:
    def check(event: EventData) -> bool:
        firing = cast(Firing, event.model)
        reason = guard(firing)
        if reason is None:
            return True
        firing.rejections.append(f"{name}: {reason}")
        return False

    check.__name__ = name
    return check


def _callback(action: Action) -> Any:
    def run(event: EventData) -> None:
        action(cast(Firing, event.model))

    run.__name__ = action.__name__
    return run


class ProcedureMachine:
    """The compiled lifecycle of one procedure version."""

    def __init__(self, definition: ProcedureDefinition, registry: Registry) -> None:
        self.definition = definition
        self._status = {s.name: s.status for s in definition.states}
        steps = {step.id: step.agency for step in definition.steps}
        self._place = {s.name: (steps[s.step], s.step) for s in definition.states if s.step}
        allowed: dict[str, set[str]] = defaultdict(set)
        for t in definition.transitions:
            for source in t.source:
                allowed[source].add(t.trigger)
        self._allowed = {s.name: tuple(sorted(allowed[s.name])) for s in definition.states}
        self._machine = Machine(
            model=None,
            states=[State(s.name, final=s.final) for s in definition.states],
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": [_condition(g, registry.guards[g]) for g in t.guards],
                    "before": [_callback(registry.actions[a]) for a in t.actions],
                }
                for t in definition.transitions
            ],
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
            name=f"{definition.code}@{definition.version}",
        )
        self._events = self._machine.events

    @property
    def machine(self) -> Machine:
        """The underlying ``transitions`` machine (for diagrams and introspection)."""
        return self._machine

    def status_of(self, state: str) -> NationalStatus:
        """The national status code of ``state``."""
        return self._status[state]

    def place_of(self, state: str) -> tuple[str, str] | None:
        """``(agency, step)`` holding a dossier in ``state``; ``None`` for a stepless final."""
        return self._place.get(state)

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """Triggers that have a transition from ``state``, sorted by name."""
        return self._allowed.get(state, ())

    def fire(
        self,
        dossier: Dossier,
        trigger: str,
        *,
        actor: Actor,
        at: dt.datetime,
        note: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> ControlEvent:
        """Apply ``trigger`` to ``dossier`` at instant ``at``; return the control-sheet row.

        Raises :class:`TriggerNotAllowed` when the current state has no such trigger,
        :class:`GuardRejected` when guards refuse it, and :class:`InvalidPayload` or
        :class:`ActionFailed` when an action fails. In every error case the dossier is unchanged.
        """
        source = dossier.state
        allowed = self._allowed.get(source)
        if allowed is None or trigger not in allowed:
            raise TriggerNotAllowed(
                dossier=dossier.code, state=source, trigger=trigger, allowed=allowed or ()
            )
        firing = Firing(dossier, self.definition, trigger, actor, at, note, payload or _EMPTY)
        try:
            moved = self._events[trigger].trigger(firing)
        except TransitionError:
            raise
        except Exception as err:
            raise ActionFailed(
                f"dossier {dossier.code}: trigger '{trigger}' failed in state '{source}' "
                f"({type(err).__name__}: {err}); nothing was changed",
                dossier=dossier.code,
                state=source,
                trigger=trigger,
            ) from err
        if not moved:
            raise GuardRejected(
                dossier=dossier.code, state=source, trigger=trigger, reasons=firing.rejections
            )
        return self._apply(dossier, firing)

    def _apply(self, dossier: Dossier, firing: Firing) -> ControlEvent:
        dest = firing.state
        agency, step = dossier.agency, dossier.step
        to_agency, to_step = self._place.get(dest, (agency, step))
        status = self._status[dest]
        event = ControlEvent(
            seq=len(dossier.history) + 1,
            at=firing.at,
            trigger=firing.trigger,
            from_state=dossier.state,
            to_state=dest,
            status=status,
            actor=firing.actor.principal,
            actor_agency=firing.actor.agency,
            agency=agency,
            step=step,
            to_agency=to_agency,
            to_step=to_step,
            note=firing.note,
        )
        for name, value in firing.changes.items():
            setattr(dossier, name, value)
        dossier.state = dest
        dossier.status = status
        dossier.agency = to_agency
        dossier.step = to_step
        dossier.history.append(event)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s %s -> %s", dossier.code, firing.trigger, event.from_state, dest)
        return event
