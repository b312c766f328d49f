"""One ``transitions`` machine per procedure version, shared by every dossier of that version.

The machine is built once from a checked :class:`~workflow.definition.ProcedureDefinition`, with
``auto_transitions`` off and guards and actions taken from the registry. It never holds a dossier:
each trigger runs on a fresh :class:`~workflow.firing.Firing`, and the dossier is updated only
after the whole transition has succeeded.

Callback order within one trigger (the ``transitions`` order): the guards, in file order, as
one ``conditions`` callback (every guard is asked, so a refusal lists every reason); then the
actions, in file order, as one ``before`` callback; then the state change. The first transition
of the trigger whose guards all pass is taken.
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


def _condition(guards: list[tuple[str, Guard]]) -> Any:
    """One ``transitions`` condition running every guard of a transition, in file order.

    Every guard is asked (not only up to the first refusal), so the error lists every reason.
    """

    def check(event: EventData) -> bool:
        firing = cast(Firing, event.model)
        passed = True
        for name, guard in guards:
            reason = guard(firing)
            if reason is not None:
                firing.rejections.append(f"{name}: {reason}")
                passed = False
        return passed

    check.__name__ = "+".join(name for name, _ in guards)
    return check


def _callback(actions: list[Action]) -> Any:
    """One ``before`` callback running every action of a transition, in file order."""

    def run(event: EventData) -> None:
        firing = cast(Firing, event.model)
        for action in actions:
            action(firing)

    run.__name__ = "+".join(action.__name__ for action in actions)
    return run


class ProcedureMachine:
    """The compiled lifecycle of one procedure version."""

    def __init__(self, definition: ProcedureDefinition, registry: Registry) -> None:
        self.definition = definition
        steps = {step.id: step.agency for step in definition.steps}
        self._arrive: dict[str, tuple[NationalStatus, str | None, str | None]] = {
            s.name: (s.status, steps[s.step], s.step) if s.step else (s.status, None, None)
            for s in definition.states
        }
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
                    "conditions": (
                        [_condition([(g, registry.guards[g]) for g in t.guards])]
                        if t.guards
                        else []
                    ),
                    "before": (
                        [_callback([registry.actions[a] for a in t.actions])] if t.actions else []
                    ),
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
        return self._arrive[state][0]

    def place_of(self, state: str) -> tuple[str, str] | None:
        """``(agency, step)`` holding a dossier in ``state``; ``None`` for a stepless final."""
        _, agency, step = self._arrive[state]
        return (agency, step) if agency is not None and step is not None else None

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
        # apply: from here on nothing can fail
        dest = firing.state
        status, to_agency, to_step = self._arrive[dest]
        if to_agency is None:  # a final state without a step: the dossier stays where it was
            to_agency, to_step = dossier.agency, dossier.step
        history = dossier.history
        event = ControlEvent(
            len(history) + 1,
            at,
            trigger,
            source,
            dest,
            status,
            actor.principal,
            actor.agency,
            dossier.agency,
            dossier.step,
            to_agency,
            to_step,
            note,
        )
        if firing.changes:
            for name, value in firing.changes.items():
                setattr(dossier, name, value)
        dossier.state = dest
        dossier.status = status
        dossier.agency = to_agency
        dossier.step = to_step
        history.append(event)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s %s -> %s", dossier.code, trigger, source, dest)
        return event
