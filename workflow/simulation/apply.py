"""How each scenario change is applied to a model.

A scenario is a list of changes (:mod:`workflow.simulation.changes`) applied in order to a copy
of the baseline. Each change names what it touches; a name that does not exist (procedure,
step, agency, channel, version) or a result that cannot be (negative staff, a procedure left
without steps) is a :class:`~workflow.errors.Problem` whose field is ``changes[i].<field>``, so
that the loader can point at the file's line. :func:`apply_changes` reports every problem at
once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from workflow.catalogue import Catalogue
from workflow.errors import Problem, WorkflowError
from workflow.simulation.changes import (
    Change,
    Demand,
    ElectronicHandover,
    MergeSteps,
    MoveStaff,
    RemoveStep,
    SetStaff,
    ShortenLimit,
    ShortenWork,
    SwitchVersion,
)
from workflow.simulation.errors import ScenarioError
from workflow.simulation.model import (
    AgencyModel,
    Arrivals,
    PathModel,
    ProcedureModel,
    SimulationModel,
    StepModel,
    from_definition,
)


class _Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def apply_changes(
    model: SimulationModel,
    changes: Sequence[Change],
    catalogue: Catalogue | None = None,
    *,
    name: str | None = None,
    day_hours: float = 8.0,
) -> SimulationModel:
    """The model with ``changes`` applied in order; :class:`ScenarioError` listing every
    problem (``changes[i].field``) if any change cannot be applied."""
    problems: list[Problem] = []
    for i, change in enumerate(changes):
        try:
            model = _apply(model, change, catalogue, day_hours)
        except _Refused as refused:
            problems.append(Problem(f"changes[{i}].{refused.field}", refused.reason))
    if problems:
        raise ScenarioError(problems)
    return replace(model, name=name or model.name)


def _apply(
    model: SimulationModel, change: Change, catalogue: Catalogue | None, day_hours: float
) -> SimulationModel:
    if isinstance(change, SwitchVersion):
        return _switched(
            model, _procedure(model, change.procedure), change.version, catalogue, day_hours
        )
    handler = _HANDLERS[type(change)]
    return handler(model, change)


def _shorten_work(model: SimulationModel, change: ShortenWork) -> SimulationModel:
    _fraction(change.by)
    scale = 1 - change.by
    return _each_step(
        model,
        change.procedure,
        change.step,
        lambda s: replace(s, work=tuple(w.scaled(scale) for w in s.work)),
    )


def _shorten_limit(model: SimulationModel, change: ShortenLimit) -> SimulationModel:
    _fraction(change.by)
    procedure = _procedure(model, change.procedure)
    if procedure.limit_days is None:
        raise _Refused("procedure", f"procedure {procedure.code} has no limit to shorten")
    if change.step is None:
        cut = procedure.limit_days * change.by
    else:
        cut = _step(procedure, change.step).share_days * change.by
    return _with(model, replace(procedure, limit_days=max(procedure.limit_days - cut, 0.0)))


def _remove_step(model: SimulationModel, change: RemoveStep) -> SimulationModel:
    return _with(model, _removed(_procedure(model, change.procedure), change.step))


def _merge_steps(model: SimulationModel, change: MergeSteps) -> SimulationModel:
    return _with(model, _merged(_procedure(model, change.procedure), change.steps))


def _set_staff(model: SimulationModel, change: SetStaff) -> SimulationModel:
    current = _staff(model, change.agency, "agency")
    staff = current if change.staff is None else change.staff
    field = "add" if change.add else "set"
    return _staffed(model, {change.agency: staff + change.add}, field)


def _move_staff(model: SimulationModel, change: MoveStaff) -> SimulationModel:
    if change.count < 0:
        raise _Refused("count", f"cannot move a negative number of officers ({change.count})")
    have = _staff(model, change.source, "from")
    target = _staff(model, change.target, "to")
    moved = {change.source: have - change.count, change.target: target + change.count}
    return _staffed(model, moved, "count")


def _electronic(model: SimulationModel, change: ElectronicHandover) -> SimulationModel:
    share = change.share
    if not 0 <= share <= 1:
        raise _Refused("share", f"must be between 0 and 1, not {share:g}")
    if change.procedure is not None:
        return _each_step(
            model, change.procedure, change.step, lambda s: replace(s, electronic_share=share)
        )
    if change.step is not None:
        raise _Refused("step", "name the procedure of the step")
    new = tuple(
        replace(p, steps=tuple(replace(s, electronic_share=share) for s in p.steps))
        for p in model.procedures
    )
    return replace(model, procedures=new)


def _more_demand(model: SimulationModel, change: Demand) -> SimulationModel:
    if change.by <= -1:
        raise _Refused("by", f"demand cannot fall by 100% or more ({change.by:+.0%})")
    named = change.procedure is not None
    chosen = (
        (_procedure(model, change.procedure),) if change.procedure is not None else model.procedures
    )
    changed = {p.code: _demand(p, change.by, change.channel, named) for p in chosen}
    return replace(model, procedures=tuple(changed.get(p.code, p) for p in model.procedures))


_HANDLERS: dict[type, Callable[[SimulationModel, Any], SimulationModel]] = {
    ShortenWork: _shorten_work,
    ShortenLimit: _shorten_limit,
    RemoveStep: _remove_step,
    MergeSteps: _merge_steps,
    SetStaff: _set_staff,
    MoveStaff: _move_staff,
    ElectronicHandover: _electronic,
    Demand: _more_demand,
}


def _fraction(by: float) -> None:
    if not 0 <= by <= 1:
        raise _Refused("by", f"must be a share between 0 and 1 (0.3 or 30%), not {by:g}")


def _procedure(model: SimulationModel, code: str) -> ProcedureModel:
    try:
        return model.procedure(code)
    except KeyError:
        known = ", ".join(p.code for p in model.procedures)
        raise _Refused(
            "procedure", f"unknown procedure '{code}'; the baseline has: {known}"
        ) from None


def _step(procedure: ProcedureModel, step_id: str, field: str = "step") -> StepModel:
    try:
        return procedure.step(step_id)
    except KeyError:
        known = ", ".join(s.id for s in procedure.steps)
        raise _Refused(
            field, f"unknown step '{step_id}' of procedure {procedure.code}; its steps: {known}"
        ) from None


def _staff(model: SimulationModel, agency: str, field: str) -> int:
    staff = model.staff()
    if agency not in staff:
        known = ", ".join(staff)
        raise _Refused(field, f"unknown agency '{agency}'; the baseline has: {known}")
    return staff[agency]


def _staffed(model: SimulationModel, new: dict[str, int], field: str) -> SimulationModel:
    for agency, staff in new.items():
        if staff < 0:
            raise _Refused(field, f"agency '{agency}' would have negative staff ({staff})")
    agencies = tuple(AgencyModel(a.code, new.get(a.code, a.staff)) for a in model.agencies)
    return replace(model, agencies=agencies)


def _with(model: SimulationModel, procedure: ProcedureModel) -> SimulationModel:
    return replace(
        model,
        procedures=tuple(procedure if p.code == procedure.code else p for p in model.procedures),
    )


def _each_step(
    model: SimulationModel, code: str, step_id: str | None, change: Callable[[StepModel], StepModel]
) -> SimulationModel:
    procedure = _procedure(model, code)
    if step_id is not None:
        _step(procedure, step_id)
    steps = tuple(change(s) if step_id in (None, s.id) else s for s in procedure.steps)
    return _with(model, replace(procedure, steps=steps))


def _removed(procedure: ProcedureModel, step_id: str) -> ProcedureModel:
    _step(procedure, step_id)
    if len(procedure.steps) == 1:
        raise _Refused("step", f"'{step_id}' is the only step of {procedure.code}; keep it")
    paths = tuple(
        PathModel(tuple(s for s in path.steps if s != step_id), path.weight)
        for path in procedure.paths
    )
    steps = tuple(s for s in procedure.steps if s.id != step_id)
    return replace(procedure, steps=steps, paths=paths)


def _merged(procedure: ProcedureModel, ids: tuple[str, ...]) -> ProcedureModel:
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise _Refused("steps", "name two or more different steps to merge")
    parts = [_step(procedure, s, "steps") for s in ids]
    first = parts[0]
    supplements = [p.supplement for p in parts if p.supplement is not None]
    merged = replace(
        first,
        work=tuple(w for p in parts for w in p.work),
        share_days=sum(p.share_days for p in parts),
        supplement=supplements[0] if supplements else None,
    )
    gone = set(ids[1:])
    paths = []
    for path in procedure.paths:
        kept: list[str] = []
        for s in path.steps:
            if s in ids:
                if first.id not in kept:
                    kept.append(first.id)
            else:
                kept.append(s)
        paths.append(PathModel(tuple(kept), path.weight))
    steps = tuple(merged if s.id == first.id else s for s in procedure.steps if s.id not in gone)
    return replace(procedure, steps=steps, paths=tuple(paths))


def _demand(
    procedure: ProcedureModel, by: float, channel: str | None, named: bool
) -> ProcedureModel:
    arrivals = procedure.arrivals
    shares = dict(arrivals.channels)
    total = sum(shares.values())
    if channel is not None and channel not in shares:
        if named:
            known = ", ".join(shares)
            raise _Refused(
                "channel",
                f"procedure {procedure.code} has no '{channel}' arrivals; its channels: {known}",
            )
        return procedure
    rates = {
        c: arrivals.per_year * share / total * (1 + by if channel in (None, c) else 1)
        for c, share in shares.items()
    }
    per_year = sum(rates.values())
    channels = tuple((c, rate / per_year if per_year else 0.0) for c, rate in rates.items())
    return replace(
        procedure, arrivals=Arrivals(per_year, channels, arrivals.weekdays, arrivals.hours)
    )


def _switched(
    model: SimulationModel,
    procedure: ProcedureModel,
    version: str,
    catalogue: Catalogue | None,
    day_hours: float,
) -> SimulationModel:
    if catalogue is None:
        raise _Refused("version", "no procedure catalogue to find versions in")
    try:
        definition = catalogue.get(procedure.code, version=version)
    except WorkflowError as error:
        raise _Refused("version", str(error)) from None
    old = {s.id: s for s in procedure.steps}
    new = from_definition(
        definition, procedure.arrivals, {s: old[s].work[0] for s in old}, day_hours=day_hours
    )
    steps = []
    staff = model.staff()
    agencies = list(model.agencies)
    for fresh in new.steps:
        before = old.get(fresh.id)
        step = fresh
        if before is not None:
            step = replace(
                fresh,
                work=before.work,
                supplement=before.supplement,
                electronic_share=before.electronic_share,
            )
        if step.agency not in staff:
            heir = before.agency if before is not None else procedure.steps[0].agency
            staff[step.agency] = staff.get(heir, 1)
            agencies.append(AgencyModel(step.agency, staff[step.agency]))
        steps.append(step)
    switched = replace(
        new,
        steps=tuple(steps),
        baseline_days=procedure.baseline_days,
        baseline_source=procedure.baseline_source,
    )
    return replace(_with(model, switched), agencies=tuple(agencies))
