"""One ``transitions`` machine per procedure version, shared by every dossier of that version.

The machine is built once from a checked :class:`~workflow.definition.ProcedureDefinition`, with
``auto_transitions`` off and guards and actions taken from the registry. It never holds a dossier:
each trigger runs on a fresh :class:`~workflow.firing.Firing`, and the dossier is updated only
after the whole transition has succeeded.

Callback order within one trigger (the ``transitions`` order): the guards, in file order, as
one ``conditions`` callback (every guard is asked, so a refusal lists every reason); then the
actions, in file order, as one ``before`` callback; then the state change. The first transition
of the trigger whose guards all pass is taken.

Firing a trigger reads the machine's own ``Transition`` objects, compiled once into a table
``(state, trigger) -> routes``: each route is a transition's destination, its condition and its
``before`` callback, taken from the machine in the machine's order. A trigger then costs a
dictionary lookup and the guards and actions themselves, without ``transitions``' per-event
machinery (its event data, queue check, state objects and debug logging), which took more than
half of a step. The table is built only from features whose semantics it keeps (conditions that
must hold, ``before`` callbacks, no ``prepare``/``after``/enter/exit callbacks and no machine-wide
callbacks); a machine using anything else is fired through ``Event.trigger``. Tests fire every
procedure both ways and require the same outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
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
    The function on the firing itself is kept as ``__wrapped__`` for the compiled table.
    """

    def check_firing(firing: Firing) -> bool:
        passed = True
        for name, guard in guards:
            reason = guard(firing)
            if reason is not None:
                firing.rejections.append(f"{name}: {reason}")
                passed = False
        return passed

    def check(event: EventData) -> bool:
        return check_firing(cast(Firing, event.model))

    check.__name__ = "+".join(name for name, _ in guards)
    check.__wrapped__ = check_firing  # type: ignore[attr-defined]
    return check


def _callback(actions: list[Action]) -> Any:
    """One ``before`` callback running every action of a transition, in file order (the
    function on the firing itself is kept as ``__wrapped__``)."""

    def run_firing(firing: Firing) -> None:
        for action in actions:
            action(firing)

    def run(event: EventData) -> None:
        run_firing(cast(Firing, event.model))

    run.__name__ = "+".join(action.__name__ for action in actions)
    run.__wrapped__ = run_firing  # type: ignore[attr-defined]
    return run


#: One way out of a state on a trigger: destination, condition, ``before`` callback (each on
#: the firing itself; ``None`` when the transition has none).
_Route = tuple[str, Callable[[Firing], bool] | None, Callable[[Firing], None] | None]

#: Machine-wide callback lists the compiled table does not run: it is used only when all are empty.
_MACHINE_CALLBACKS = (
    "prepare_event",
    "before_state_change",
    "after_state_change",
    "finalize_event",
    "on_exception",
    "on_final",
)


def _compile(machine: Machine) -> dict[str, dict[str, tuple[_Route, ...]]] | None:
    """``state -> trigger -> routes`` from the machine's own transitions, in its order; ``None``
    if the machine uses a feature the table would not run the way ``transitions`` does."""
    if any(getattr(machine, name) for name in _MACHINE_CALLBACKS):
        return None
    for state in machine.states.values():
        if state.on_enter or state.on_exit:
            return None
    table: dict[str, dict[str, tuple[_Route, ...]]] = defaultdict(dict)
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            routes: list[_Route] = []
            for t in transitions:
                if (
                    t.prepare
                    or t.after
                    or t.dest is None
                    or len(t.conditions) > 1
                    or len(t.before) > 1
                ):
                    return None
                check = run = None
                if t.conditions:
                    condition = t.conditions[0]
                    check = getattr(condition.func, "__wrapped__", None)
                    if check is None or condition.target is not True:
                        return None
                if t.before:
                    run = getattr(t.before[0], "__wrapped__", None)
                    if run is None:
                        return None
                routes.append((t.dest, check, run))
            table[source][trigger] = tuple(routes)
    return dict(table)


def _run(routes: tuple[_Route, ...], firing: Firing) -> bool:
    """Take the first route whose condition holds, as ``transitions`` does: its condition, its
    ``before`` callback, then the state change. ``False`` if every condition refused."""
    for dest, check, run in routes:
        if check is None or check(firing):
            if run is not None:
                run(firing)
            firing.state = dest
            return True
    return False


class ProcedureMachine:
    """The compiled lifecycle of one procedure version."""

    def __init__(
        self, definition: ProcedureDefinition, registry: Registry, *, compiled: bool = True
    ) -> None:
        """``compiled=False`` fires every trigger through ``transitions``' ``Event.trigger``
        (the reference the compiled table is tested against)."""
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
        self._table = _compile(self._machine) if compiled else None

    @property
    def compiled(self) -> bool:
        """Whether triggers run from the compiled table (see the module's notes)."""
        return self._table is not None

    @property
    def machine(self) -> Machine:
        """The underlying ``transitions`` machine (for diagrams and introspection). The trigger
        table is compiled from it once, when this object is built: change the definition, not
        this machine."""
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
            if self._table is not None:
                moved = _run(self._table[source][trigger], firing)
            else:
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
