"""Bad procedure files: each problem names file, field and reason; nothing loads half."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from procedures.loader import CATALOGUE_DIR, load_catalogue, validate_files
from workflow.agencies import AgencyDirectory
from workflow.errors import DefinitionError, Problem

WARD = "000.00.71.H26"


def minimal() -> dict[str, Any]:
    """A small valid procedure: reception, one work step, return."""
    return {
        "code": "9.000001",
        "version": "1",
        "name": {"vi": "Thủ tục thử", "en": "Test procedure"},
        "effective_from": "2025-07-01",
        "legal_basis": ["Nghị định 118/2025/NĐ-CP"],
        "limit_days": 2,
        "channels": ["online"],
        "steps": [
            {
                "id": "reception",
                "name": {"vi": "Tiếp nhận", "en": "Reception"},
                "agency": WARD,
                "role": "officer",
                "share_days": 0.5,
            },
            {
                "id": "work",
                "name": {"vi": "Xử lý", "en": "Work"},
                "agency": WARD,
                "role": "officer",
                "share_days": 1,
            },
        ],
        "initial": "submitted",
        "states": [
            {"name": "submitted", "status": 1, "step": "reception"},
            {"name": "work", "status": 4, "step": "work"},
            {"name": "finished", "status": 9, "step": "reception"},
            {"name": "returned", "status": 10, "final": True},
        ],
        "transitions": [
            {"trigger": "accept", "source": "submitted", "dest": "work"},
            {
                "trigger": "finish",
                "source": "work",
                "dest": "finished",
                "guards": ["result_attached"],
                "actions": ["record_result"],
            },
            {"trigger": "return_result", "source": "finished", "dest": "returned"},
        ],
    }


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "proc.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(
    tmp_path: Path, agencies: AgencyDirectory, data: dict[str, Any] | str
) -> list[Problem]:
    _, problems = validate_files([write(tmp_path, data)], agencies)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_minimal_definition_is_valid(tmp_path: Path, agencies: AgencyDirectory) -> None:
    definitions, problems = validate_files([write(tmp_path, minimal())], agencies)
    assert problems == [] and definitions[0].key == ("9.000001", "1")


def test_malformed_yaml_names_file_line_and_column(
    tmp_path: Path, agencies: AgencyDirectory
) -> None:
    problem = only(problems_of(tmp_path, agencies, "code: '1.0\nsteps: [a, b\n"))
    assert problem.file.endswith("proc.yaml")
    assert problem.field.startswith("line ")
    assert "malformed YAML" in problem.reason


def test_duplicate_yaml_key_is_an_error(tmp_path: Path, agencies: AgencyDirectory) -> None:
    text = yaml.safe_dump(minimal()) + "limit_days: 5\n"
    problem = only(problems_of(tmp_path, agencies, text))
    assert "duplicate key 'limit_days'" in problem.reason


def test_unknown_agency(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["steps"][1]["agency"] = "NOPE.H26"
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == "steps[1].agency"
    assert "unknown agency 'NOPE.H26'" in problem.reason


def test_agency_not_in_force_names_its_successor(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["steps"][1]["agency"] = "000.00.07.H26"  # Quận Tây Hồ, ended 30 June 2025
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == "steps[1].agency"
    assert "not in force on effective_from 2025-07-01" in problem.reason
    assert "successor is '000.00.71.H26'" in problem.reason


def test_unreachable_state(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["states"].append({"name": "limbo", "status": 4, "step": "work"})
    data["transitions"].append({"trigger": "leave", "source": "limbo", "dest": "finished"})
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == "states[4]"
    assert "state 'limbo' cannot be reached from the initial state 'submitted'" in problem.reason


def test_non_final_state_with_no_way_out(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["states"].append({"name": "stuck", "status": 5, "step": "work"})
    data["transitions"].append({"trigger": "request_supplement", "source": "work", "dest": "stuck"})
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == "states[4]"
    assert "non-final state 'stuck' has no way out" in problem.reason


def test_cycle_with_no_exit(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["states"] += [
        {"name": "ping", "status": 4, "step": "work"},
        {"name": "pong", "status": 4, "step": "work"},
    ]
    data["transitions"] += [
        {"trigger": "bounce", "source": "work", "dest": "ping"},
        {"trigger": "bounce", "source": "ping", "dest": "pong"},
        {"trigger": "bounce", "source": "pong", "dest": "ping"},
    ]
    problems = problems_of(tmp_path, agencies, data)
    assert [p.field for p in problems] == ["states[4]", "states[5]"]
    assert all("no final state can be reached" in p.reason for p in problems)


def test_transition_to_an_undefined_state(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["transitions"][0]["dest"] = "nowhere"
    problems = problems_of(tmp_path, agencies, data)
    assert problems[0].field == "transitions[0].dest"
    assert "transition to an undefined state 'nowhere'" in problems[0].reason


def test_unknown_guard_and_action_are_rejected(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["transitions"][1]["guards"] = ["os.system"]
    data["transitions"][1]["actions"] = ["record_result", "send_sms"]
    problems = problems_of(tmp_path, agencies, data)
    fields = [p.field for p in problems]
    assert "transitions[1].guards[0]" in fields  # not even a valid name
    data["transitions"][1]["guards"] = ["always_true"]
    problems = problems_of(tmp_path, agencies, data)
    assert [(p.field, p.reason.split(";")[0]) for p in problems] == [
        ("transitions[1].guards[0]", "unknown guard 'always_true'"),
        ("transitions[1].actions[1]", "unknown action 'send_sms'"),
    ]
    assert "allowed: documents_complete, fee_paid" in problems[0].reason


def test_duplicate_code_and_version(tmp_path: Path, agencies: AgencyDirectory) -> None:
    first = write(tmp_path, minimal(), "a.yaml")
    second = write(tmp_path, minimal(), "b.yaml")
    definitions, problems = validate_files([first, second], agencies)
    problem = only(problems)
    assert problem.file.endswith("b.yaml") and problem.field == "version"
    assert "duplicate code and version 9.000001@1" in problem.reason
    assert "a.yaml" in problem.reason
    assert len(definitions) == 1


@pytest.mark.parametrize(
    ("field", "value", "where", "reason"),
    [
        ("limit_days", 2.25, "limit_days", "whole or half number of working days"),
        ("limit_days", -1, "limit_days", "greater than or equal to 0"),
        ("channels", ["online", "fax"], "channels[1]", "'online', 'counter' or 'post'"),
        ("effective_from", "2025-13-01", "effective_from", "date"),
        ("colour", "red", "colour", "Extra inputs are not permitted"),
    ],
)
def test_field_errors(
    tmp_path: Path, agencies: AgencyDirectory, field: str, value: object, where: str, reason: str
) -> None:
    data = minimal()
    data[field] = value
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == where
    assert reason in problem.reason


def test_status_and_final_must_agree(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["states"][3]["final"] = False
    data["states"][3]["step"] = "reception"
    problems = problems_of(tmp_path, agencies, data)
    assert problems[0].field == "states[3].final"
    assert "set final: true" in problems[0].reason


def test_shares_cannot_exceed_the_limit(tmp_path: Path, agencies: AgencyDirectory) -> None:
    data = minimal()
    data["steps"][1]["share_days"] = 5
    problem = only(problems_of(tmp_path, agencies, data))
    assert problem.field == "steps"
    assert "add up to 5.5 working days, more than the limit (2)" in problem.reason


def test_a_bad_file_loads_nothing(tmp_path: Path, agencies: AgencyDirectory) -> None:
    for path in CATALOGUE_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    data = minimal()
    data["transitions"][0]["dest"] = "nowhere"
    write(tmp_path, data, "zz-broken.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_catalogue(tmp_path, agencies)
    assert "nothing was loaded" in str(caught.value)
    assert "zz-broken.yaml: transitions[0].dest: transition to an undefined state" in str(
        caught.value
    )
