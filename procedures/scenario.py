"""Load simulation baselines and scenarios from YAML, and write calibrated baselines.

Every problem is reported at once with its file and line (``scenario.yaml:7: changes[0].step:
unknown step 'x' of procedure 2.000986; its steps: ...``): malformed YAML, a field of the wrong
type, a distribution with impossible parameters, a negative staff count, a path through an
unknown step, and, in a scenario, a change naming an unknown procedure, step, agency, channel
or version (:class:`~workflow.simulation.errors.ScenarioError`). The format is described in
:mod:`procedures.scenario_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from procedures.loader import read_yaml
from procedures.scenario_schema import (
    BaselineSpec,
    DistributionSpec,
    ProcedureSpec,
    ScenarioSpec,
)
from workflow.catalogue import Catalogue
from workflow.errors import Problem
from workflow.simulation import changes as c
from workflow.simulation import distributions as d
from workflow.simulation import model as m
from workflow.simulation.apply import apply_changes
from workflow.simulation.errors import ScenarioError, SimulationError


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A scenario file read: its baseline, the changed model, and the changes (none for a
    baseline file, whose scenario is the baseline itself)."""

    path: Path
    baseline: m.SimulationModel
    scenario: m.SimulationModel
    changes: tuple[c.Change, ...]


def load_scenario(
    path: Path, catalogue: Catalogue | None = None, *, day_hours: float = 8.0
) -> LoadedScenario:
    """The baseline or scenario file at ``path`` (:class:`ScenarioError` listing every problem
    with file and line)."""
    data, nodes = _read(path)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "baseline":
        baseline = _baseline(data, nodes, path)
        return LoadedScenario(path, baseline, baseline, ())
    if kind != "scenario":
        raise ScenarioError(
            [_at(path, nodes, "kind", "say `kind: baseline` or `kind: scenario`")], "scenario file"
        )
    spec = _validated(ScenarioSpec, data, nodes, path)
    baseline_path = (path.parent / spec.baseline).resolve()
    if not baseline_path.is_file():
        raise ScenarioError(
            [_at(path, nodes, "baseline", f"no baseline file {spec.baseline} next to this file")]
        )
    baseline = load_scenario(baseline_path, catalogue, day_hours=day_hours).baseline
    built = [change.build() for change in spec.changes]
    try:
        scenario = apply_changes(baseline, built, catalogue, name=spec.name, day_hours=day_hours)
    except ScenarioError as error:
        raise ScenarioError([_at(path, nodes, p.field, p.reason) for p in error.problems]) from None
    return LoadedScenario(path, baseline, scenario, tuple(built))


def _read(path: Path) -> tuple[Any, yaml.Node | None]:
    data, problems = read_yaml(path)
    if problems:
        raise ScenarioError(
            [Problem(p.field, p.reason, str(path)) for p in problems], "scenario file"
        )
    return data, yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)


def _validated(model: Any, data: Any, nodes: yaml.Node | None, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(
            [_at(path, nodes, e["loc"], e["msg"]) for e in error.errors()], "scenario file"
        ) from None


def _baseline(data: Any, nodes: yaml.Node | None, path: Path) -> m.SimulationModel:
    spec: BaselineSpec = _validated(BaselineSpec, data, nodes, path)
    problems: list[Problem] = []

    def build(spec: DistributionSpec, where: str) -> d.Distribution:
        try:
            return spec.build()
        except SimulationError as error:
            problems.append(_at(path, nodes, where, str(error)))
            return d.Fixed(0.0)

    procedures = tuple(
        _procedure(p, f"procedures[{i}]", build) for i, p in enumerate(spec.procedures)
    )
    model = m.SimulationModel(
        name=spec.name,
        start=spec.start,
        horizon_days=spec.horizon_days,
        procedures=procedures,
        agencies=tuple(m.AgencyModel(a.code, a.staff) for a in spec.agencies),
        handover=m.HandoverDelays(
            build(spec.handover.paper, "handover.paper"),
            build(spec.handover.electronic, "handover.electronic"),
        ),
        goal=spec.goal,
        source=spec.source,
    )
    problems += [_at(path, nodes, p.field, p.reason) for p in m.check_model(model)]
    if problems:
        raise ScenarioError(problems, "baseline file")
    return model


def _procedure(spec: ProcedureSpec, where: str, build: Any) -> m.ProcedureModel:
    steps = []
    for s, step in enumerate(spec.steps):
        at = f"{where}.steps[{s}]"
        work = step.work if isinstance(step.work, list) else [step.work]
        supplement = None
        if step.supplement is not None:
            supplement = m.Supplement(
                step.supplement.probability, build(step.supplement.delay, f"{at}.supplement.delay")
            )
        steps.append(
            m.StepModel(
                id=step.id,
                agency=step.agency,
                work=tuple(build(w, f"{at}.work") for w in work),
                share_days=step.share_days,
                electronic_share=step.electronic_share,
                supplement=supplement,
            )
        )
    paths = (
        tuple(m.PathModel(tuple(p.steps), p.weight) for p in spec.paths)
        if spec.paths
        else (m.PathModel(tuple(s.id for s in spec.steps)),)
    )
    a = spec.arrivals
    return m.ProcedureModel(
        code=spec.code,
        version=spec.version,
        name=spec.name,
        limit_days=spec.limit_days,
        cutoff=spec.cutoff,
        baseline_days=spec.baseline_days,
        baseline_source=spec.baseline_source,
        case_correlation=spec.case_correlation,
        arrivals=m.Arrivals(
            a.per_year, tuple(a.channels.items()), tuple(a.weekdays), tuple(a.hours)
        ),
        steps=tuple(steps),
        paths=paths,
    )


# --- where a field is --------------------------------------------------------------------------


def _parts(field: str | Sequence[int | str]) -> list[int | str]:
    if not isinstance(field, str):
        return list(field)
    return [int(n) if n else k for k, n in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", field)]


def _line(nodes: yaml.Node | None, field: str | Sequence[int | str]) -> int | None:
    """The line (1-based) of the deepest node of ``field`` found in the document."""
    node = nodes
    if node is None:
        return None
    for part in _parts(field):
        child = _child(node, part)
        if child is None and isinstance(node, yaml.MappingNode) and len(node.value) == 1:
            # a change is a mapping of one kind: look inside it
            child = _child(node.value[0][1], part)
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                key.value == part
                or (part == "source" and key.value == "from")
                or (part == "target" and key.value == "to")
            ):
                return value  # type: ignore[no-any-return]
    return None


def _at(
    path: Path, nodes: yaml.Node | None, field: str | Sequence[int | str], reason: str
) -> Problem:
    line = _line(nodes, field)
    name = ".".join(str(p) for p in _parts(field)) if not isinstance(field, str) else field
    name = re.sub(r"\.(\d+)", r"[\1]", name)
    return Problem(name or "(document)", reason, f"{path}:{line}" if line else str(path))


# --- writing ----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Lists of numbers on one line; everything else in block style."""


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, int | float | str) for v in value) and len(value) > 0
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(list, _list)


def baseline_data(model: m.SimulationModel) -> dict[str, Any]:
    """A model as the data of a baseline file."""
    return {
        "kind": "baseline",
        "name": model.name,
        "source": model.source,
        "start": model.start.isoformat(),
        "horizon_days": model.horizon_days,
        "goal": model.goal,
        "handover": {
            "paper": _distribution(model.handover.paper),
            "electronic": _distribution(model.handover.electronic),
        },
        "agencies": [{"code": a.code, "staff": a.staff} for a in model.agencies],
        "procedures": [_procedure_data(p) for p in model.procedures],
    }


def dump_baseline(model: m.SimulationModel) -> str:
    """A model as the text of a baseline file."""
    return yaml.dump(
        baseline_data(model), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


def _procedure_data(p: m.ProcedureModel) -> dict[str, Any]:
    found: dict[str, Any] = {"code": p.code, "version": p.version, "name": p.name}
    if p.limit_days is not None:
        found["limit_days"] = p.limit_days
    if p.cutoff is not None:
        found["cutoff"] = p.cutoff.strftime("%H:%M")
    if p.baseline_days is not None:
        found["baseline_days"] = round(p.baseline_days, 4)
        found["baseline_source"] = p.baseline_source
    found["case_correlation"] = p.case_correlation
    a = p.arrivals
    found["arrivals"] = {
        "per_year": a.per_year,
        "channels": dict(a.channels),
        "weekdays": list(a.weekdays),
        "hours": list(a.hours),
    }
    found["steps"] = [_step_data(s) for s in p.steps]
    if p.paths != (m.PathModel(tuple(s.id for s in p.steps)),):
        found["paths"] = [{"steps": list(path.steps), "weight": path.weight} for path in p.paths]
    return found


def _step_data(s: m.StepModel) -> dict[str, Any]:
    work = [_distribution(w) for w in s.work]
    found: dict[str, Any] = {
        "id": s.id,
        "agency": s.agency,
        "share_days": s.share_days,
        "electronic_share": round(s.electronic_share, 6),
        "work": work[0] if len(work) == 1 else work,
    }
    if s.supplement is not None:
        found["supplement"] = {
            "probability": round(s.supplement.probability, 6),
            "delay": _distribution(s.supplement.delay),
        }
    return found


def _distribution(value: d.Distribution) -> dict[str, Any]:
    match value:
        case d.Fixed(hours):
            return {"fixed": hours}
        case d.Exponential(mean):
            return {"exponential": {"mean": mean}}
        case d.LogNormal(median, sigma):
            return {"lognormal": {"median": median, "sigma": sigma}}
        case d.Triangular(low, mode, high):
            return {"triangular": {"low": low, "mode": mode, "high": high}}
        case d.Uniform(low, high):
            return {"uniform": {"low": low, "high": high}}
        case d.Empirical(quantiles):
            return {"empirical": list(quantiles)}
    raise TypeError(f"unknown distribution {value!r}")  # pragma: no cover
