"""Baseline and scenario files: written and read back unchanged, and every bad input named
with its file and line."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from procedures.scenario import dump_baseline, load_scenario
from workflow.catalogue import Catalogue
from workflow.simulation import SimulationModel
from workflow.simulation import changes as c
from workflow.simulation.distributions import Empirical, Exponential, Triangular, Uniform
from workflow.simulation.errors import ScenarioError
from workflow.simulation.model import (
    AgencyModel,
    Arrivals,
    PathModel,
    Supplement,
    from_definition,
)

LINKED = "2.000986"


@pytest.fixture(scope="module")
def model(catalogue: Catalogue) -> SimulationModel:
    definition = catalogue.get(LINKED, version="2025")
    work = {
        "reception": Empirical((0.0, 0.5, 1.0)),
        "birth_registration": Triangular(0.5, 1.0, 3.0),
        "residence_registration": Exponential(4.0),
        "health_insurance": Uniform(1.0, 2.0),
    }
    procedure = from_definition(
        definition, Arrivals(1200, (("online", 0.7), ("counter", 0.3))), work
    )
    steps = list(procedure.steps)
    steps[2] = replace(
        steps[2], supplement=Supplement(0.1, Exponential(16.0)), electronic_share=0.5
    )
    procedure = replace(procedure, steps=tuple(steps), baseline_days=2.5, baseline_source="history")
    agencies = tuple(AgencyModel(a, 3) for a in ("000.00.71.H26", "000.08.71.H26", "000.09.71.H26"))
    return SimulationModel("baseline", dt.date(2026, 1, 5), 90, (procedure,), agencies)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_baseline_reads_back_as_it_was_written(
    model: SimulationModel, catalogue: Catalogue, tmp_path: Path
) -> None:
    path = write(tmp_path, "baseline.yaml", dump_baseline(model))
    loaded = load_scenario(path, catalogue)
    assert loaded.baseline == model and loaded.scenario == model and loaded.changes == ()


def test_a_log_baselines_paths_read_back(model: SimulationModel, tmp_path: Path) -> None:
    procedure = model.procedures[0]
    ids = [s.id for s in procedure.steps]
    variants = (PathModel(tuple(ids), 3.0), PathModel((ids[0], ids[2], ids[2]), 1.0))
    changed = replace(model, procedures=(replace(procedure, paths=variants, limit_days=None),))
    path = write(tmp_path, "log.yaml", dump_baseline(changed))
    assert load_scenario(path).baseline == changed


def test_a_scenario_applies_its_changes_in_order(
    model: SimulationModel, catalogue: Catalogue, tmp_path: Path
) -> None:
    write(tmp_path, "baseline.yaml", dump_baseline(model))
    path = write(
        tmp_path,
        "faster.yaml",
        """kind: scenario
name: faster police, electronic
baseline: baseline.yaml
changes:
  - shorten_work: {procedure: '2.000986', step: residence_registration, by: 30%}
  - electronic_handover: {procedure: '2.000986'}
  - move_staff: {from: 000.00.71.H26, to: 000.09.71.H26, count: 1}
  - demand: {channel: online, by: 0.3}
""",
    )
    loaded = load_scenario(path, catalogue)
    assert loaded.baseline == model and loaded.scenario.name == "faster police, electronic"
    assert loaded.changes == (
        c.ShortenWork(LINKED, 0.3, "residence_registration"),
        c.ElectronicHandover(LINKED),
        c.MoveStaff("000.00.71.H26", "000.09.71.H26", 1),
        c.Demand(0.3, None, "online"),
    )
    police = loaded.scenario.procedures[0].step("residence_registration")
    assert police.work == (Exponential(4.0 * 0.7),) and police.electronic_share == 1
    assert loaded.scenario.staff()["000.09.71.H26"] == 4


SCENARIO_ERRORS = [
    ("  - shorten_work: {procedure: '9.999999', by: 0.2}\n", 5, "unknown procedure '9.999999'"),
    (
        "  - remove_step: {procedure: '2.000986', step: appraisal}\n",
        5,
        "unknown step 'appraisal' of procedure 2.000986",
    ),
    ("  - staff: {agency: 000.99.71.H26, add: 2}\n", 5, "unknown agency '000.99.71.H26'"),
    ("  - staff:\n      agency: 000.00.71.H26\n      set: -2\n", 7, "negative staff (-2)"),
    ("  - demand: {by: lots}\n", 5, "demand.by: Input should be a valid number"),
    ("  - teleport: {procedure: x}\n", 5, "teleport: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("change", "line", "words"), SCENARIO_ERRORS)
def test_a_bad_change_names_the_file_and_line(
    model: SimulationModel,
    catalogue: Catalogue,
    tmp_path: Path,
    change: str,
    line: int,
    words: str,
) -> None:
    write(tmp_path, "baseline.yaml", dump_baseline(model))
    header = "kind: scenario\nname: bad\nbaseline: baseline.yaml\nchanges:\n"
    path = write(tmp_path, "bad.yaml", header + change)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path, catalogue)
    message = str(raised.value)
    assert f"{path}:{line}: " in message and words in message, message


def _edited(model: SimulationModel, old: str, new: str) -> str:
    text = dump_baseline(model)
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("  staff: 3", "  staff: -4", "agencies[0].staff", "negative staff (-4)"),
        (
            "exponential:\n        mean: 4.0",
            "lognormal: {median: 4.0, sigma: -1}",
            "procedures[0].steps[2].work",
            "sigma cannot be negative",
        ),
        (
            "triangular:\n        low: 0.5\n        mode: 1.0\n        high: 3.0",
            "triangular: {low: 3, mode: 1, high: 0.5}",
            "procedures[0].steps[1].work",
            "0 <= low <= mode <= high",
        ),
        ("probability: 0.1", "probability: 140%", "procedures[0].steps[2]", "between 0 and 1"),
        ("  agency: 000.08.71.H26", "  agency: 000.77.71.H26", "steps[3].agency", "no entry"),
        ("horizon_days: 90", "horizon_days: 0", "horizon_days", "greater than or equal to 1"),
    ],
)
def test_a_bad_baseline_names_the_file_and_line(
    model: SimulationModel, tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    text = _edited(model, old, new)
    path = write(tmp_path, "baseline.yaml", text)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    [problem] = raised.value.problems
    first_new_line = text[: text.index(new)].count("\n") + 1
    line = int(re.sub(r".*:(\d+)$", r"\1", problem.file))
    assert problem.file == f"{path}:{line}" and line == first_new_line, problem
    assert field in problem.field and words in problem.reason, problem


def test_malformed_yaml_and_a_missing_baseline_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "kind: scenario\nname: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"line 3, column 1: malformed YAML"):
        load_scenario(path)
    path = write(tmp_path, "orphan.yaml", "kind: scenario\nname: x\nbaseline: gone.yaml\n")
    with pytest.raises(ScenarioError, match=r"orphan.yaml:3: baseline: no baseline file gone"):
        load_scenario(path)
    path = write(tmp_path, "what.yaml", "name: x\n")
    with pytest.raises(ScenarioError, match=r"what.yaml:1: kind: say `kind: baseline`"):
        load_scenario(path)
