"""Checks that relate the parts of a procedure definition to each other and to the world.

:func:`check_definition` returns every problem it finds (never only the first), each naming the
field at fault, so a procedure author can fix a file in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from workflow.agencies import AgencyDirectory
from workflow.definition import ProcedureDefinition
from workflow.errors import Problem
from workflow.registry import Registry


def check_definition(
    definition: ProcedureDefinition, agencies: AgencyDirectory, registry: Registry
) -> list[Problem]:
    """All problems of ``definition`` against the agency directory and the registry."""
    problems: list[Problem] = []
    problems += _check_names(definition)
    problems += _check_steps(definition, agencies)
    problems += _check_states(definition)
    problems += _check_transitions(definition, registry)
    if not problems:  # the graph checks need every name to resolve
        problems += _check_graph(definition)
    return problems


def _duplicates(names: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    found = []
    for index, name in enumerate(names):
        if name in seen:
            found.append((index, name))
        seen.add(name)
    return found


def _check_names(d: ProcedureDefinition) -> list[Problem]:
    problems = [
        Problem(f"states[{i}].name", f"state '{n}' is defined twice")
        for i, n in _duplicates(s.name for s in d.states)
    ]
    problems += [
        Problem(f"steps[{i}].id", f"step '{n}' is defined twice")
        for i, n in _duplicates(s.id for s in d.steps)
    ]
    problems += [
        Problem(f"documents[{i}].kind", f"document kind '{n}' is listed twice")
        for i, n in _duplicates(doc.kind for doc in d.documents)
    ]
    if d.initial not in {s.name for s in d.states}:
        problems.append(Problem("initial", f"initial state '{d.initial}' is not defined"))
    if d.extended_limit_days is not None and d.extended_limit_days < d.limit_days:
        problems.append(
            Problem("extended_limit_days", "is shorter than limit_days; it must extend it")
        )
    return problems


def _check_steps(d: ProcedureDefinition, agencies: AgencyDirectory) -> list[Problem]:
    problems = []
    for i, step in enumerate(d.steps):
        if step.agency not in agencies:
            problems.append(
                Problem(
                    f"steps[{i}].agency",
                    f"unknown agency '{step.agency}'; use a code from the agency directory "
                    "(lienthong agencies list)",
                )
            )
            continue
        agency = agencies.get(step.agency)
        if not agency.in_force(d.effective_from):
            heir = f"; its successor is '{agency.successor}'" if agency.successor else ""
            problems.append(
                Problem(
                    f"steps[{i}].agency",
                    f"agency '{step.agency}' is not in force on effective_from "
                    f"{d.effective_from}{heir}",
                )
            )
    total = sum(step.share_days for step in d.steps)
    budget = d.limit_days if d.limit_days > 0 else 1.0
    if total > budget:
        problems.append(
            Problem(
                "steps",
                f"step shares add up to {total:g} working days, more than the "
                f"{'limit' if d.limit_days else 'same working day'} ({budget:g})",
            )
        )
    held = {s.step for s in d.states}
    problems += [
        Problem(f"steps[{i}]", f"step '{step.id}' is held by no state")
        for i, step in enumerate(d.steps)
        if step.id not in held
    ]
    return problems


def _check_states(d: ProcedureDefinition) -> list[Problem]:
    problems = []
    steps = {s.id for s in d.steps}
    for i, state in enumerate(d.states):
        if state.step is not None and state.step not in steps:
            problems.append(Problem(f"states[{i}].step", f"undefined step '{state.step}'"))
        if state.step is None and not state.final:
            problems.append(
                Problem(f"states[{i}].step", f"non-final state '{state.name}' must name its step")
            )
        if state.final != state.status.closes:
            problems.append(
                Problem(
                    f"states[{i}].final",
                    f"state '{state.name}' has status {int(state.status)} "
                    f"({state.status.name.lower()}), which is "
                    f"{'final' if state.status.closes else 'not final'}; "
                    f"set final: {str(state.status.closes).lower()}",
                )
            )
    return problems


def _check_transitions(d: ProcedureDefinition, registry: Registry) -> list[Problem]:
    problems = []
    states = {s.name: s for s in d.states}
    for i, t in enumerate(d.transitions):
        for j, source in enumerate(t.source):
            if source not in states:
                problems.append(
                    Problem(f"transitions[{i}].source[{j}]", f"undefined state '{source}'")
                )
            elif states[source].final:
                problems.append(
                    Problem(
                        f"transitions[{i}].source[{j}]",
                        f"final state '{source}' cannot have outgoing transitions",
                    )
                )
        if t.dest not in states:
            problems.append(
                Problem(f"transitions[{i}].dest", f"transition to an undefined state '{t.dest}'")
            )
        for kind, names, allowed in (
            ("guard", t.guards, registry.guards),
            ("action", t.actions, registry.actions),
        ):
            for j, name in enumerate(names):
                if name not in allowed:
                    problems.append(
                        Problem(
                            f"transitions[{i}].{kind}s[{j}]",
                            f"unknown {kind} '{name}'; allowed: {', '.join(sorted(allowed))}",
                        )
                    )
    return problems


def _check_graph(d: ProcedureDefinition) -> list[Problem]:
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)
    for t in d.transitions:
        for source in t.source:
            forward[source].add(t.dest)
            backward[t.dest].add(source)
    reached = _closure({d.initial}, forward)
    finals = {s.name for s in d.states if s.final}
    can_finish = _closure(finals, backward)
    problems = []
    for i, state in enumerate(d.states):
        if state.name not in reached:
            problems.append(
                Problem(
                    f"states[{i}]",
                    f"state '{state.name}' cannot be reached from the initial state '{d.initial}'",
                )
            )
        elif not state.final and not forward[state.name]:
            problems.append(
                Problem(
                    f"states[{i}]",
                    f"non-final state '{state.name}' has no way out: no transition leaves it",
                )
            )
        elif state.name not in can_finish:
            problems.append(
                Problem(f"states[{i}]", f"from state '{state.name}' no final state can be reached")
            )
    return problems


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
