"""The ``lienthong`` command line, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adapters.cli import app
from procedures.loader import CATALOGUE_DIR

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "lienthong"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "procedures" in done.stdout and "agencies" in done.stdout


def test_run_prints_the_catalogue_report() -> None:
    code, out, _ = invoke("run")
    assert code == 0
    assert "10 procedures, 20 versions" in out
    for procedure in ("2.000986", "1.001612", "HN-XD-NORL", "HN-DD-CGCN", "2.000815"):
        assert procedure in out


def test_procedures_list_shows_code_name_limit_steps_agencies() -> None:
    code, out, _ = invoke("procedures", "list", "--at", "2025-06-30")
    assert code == 0
    assert "10 procedures in force on 2025-06-30" in out
    line = next(row for row in out.splitlines() if "HN-DD-CGCN" in row)
    assert "2024" in line and "23 d" in line and "6" in line
    code, out, _ = invoke("procedures", "list", "--all")
    assert "20 procedure versions" in out


def test_procedures_show_json_round_trips() -> None:
    code, out, _ = invoke("procedures", "show", "2.000986", "--version", "2025", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["code"] == "2.000986" and data["limit_days"] == 3
    assert [s["agency"] for s in data["steps"]][1:4] == [
        "000.00.71.H26",
        "000.09.71.H26",
        "000.08.71.H26",
    ]


def test_procedures_show_text() -> None:
    code, out, _ = invoke("procedures", "show", "1.001193")
    assert code == 0
    assert "1.001193@2025" in out and "Đăng ký khai sinh" in out and "same day" in out
    assert "request_supplement" in out


def test_procedures_show_unknown_code() -> None:
    code, _, err = invoke("procedures", "show", "9.999999")
    assert code == 2
    assert "unknown procedure code '9.999999'" in err


def test_agencies_list_at_a_date() -> None:
    code, out, _ = invoke("agencies", "list", "--at", "2025-06-30", "--format", "json")
    before = {a["code"] for a in json.loads(out)}
    code, out, _ = invoke("agencies", "list", "--at", "2025-07-01", "--format", "json")
    after = {a["code"] for a in json.loads(out)}
    assert code == 0
    assert "000.00.07.H26" in before - after
    assert "000.00.71.H26" in after - before
    code, out, _ = invoke("agencies", "list", "--at", "2025-07-01")
    assert "Tây Hồ Ward People's Committee" in out


def test_validate_good_files() -> None:
    code, out, _ = invoke("procedures", "validate", str(CATALOGUE_DIR))
    assert code == 0
    assert "20 file(s) valid" in out


def test_validate_reports_file_field_and_reason(tmp_path: Path) -> None:
    source = CATALOGUE_DIR / "1.001612@2025.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["steps"][1]["agency"] = "NOPE"
    data["transitions"][0]["dest"] = "nowhere"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("code: [unclosed\n", encoding="utf-8")
    code, _, err = invoke("procedures", "validate", str(bad), str(broken), str(source))
    assert code == 1
    assert f"{bad}: steps[1].agency: unknown agency 'NOPE'" in err
    assert f"{bad}: transitions[0].dest: transition to an undefined state 'nowhere'" in err
    assert f"{broken}: line 2, column 1: malformed YAML" in err
    assert (
        f"{source}: version: duplicate code and version 1.001612@2025: already defined in {bad}"
        in (err.replace("\n", ""))
    )
    assert "4 problem(s) in 3 file(s)" in err


def test_validate_a_bad_agency_file(tmp_path: Path) -> None:
    agencies = tmp_path / "agencies.yaml"
    agencies.write_text("agencies: 5\n", encoding="utf-8")
    code, _, err = invoke("procedures", "validate", str(CATALOGUE_DIR), "--agencies", str(agencies))
    assert code == 2
    assert "the file must hold a list under the key 'agencies'" in err


def test_diagram_is_mermaid() -> None:
    code, out, _ = invoke("procedures", "diagram", "2.000986", "--version", "2025")
    assert code == 0
    assert "stateDiagram-v2" in out
    assert "residence_registration --> health_insurance: hand_over" in out
    assert "returned --> [*]" in out
    assert "[*] --> submitted" in out


def test_schema_is_json_schema() -> None:
    code, out, _ = invoke("procedures", "schema")
    schema = json.loads(out)
    assert code == 0
    assert {"code", "version", "steps", "states", "transitions"} <= set(schema["required"])


@pytest.mark.parametrize("variable", ["LIENTHONG_PROCEDURES_DIR", "LIENTHONG_AGENCIES_FILE"])
def test_a_broken_deployment_setting_is_a_clear_error(tmp_path: Path, variable: str) -> None:
    result = runner.invoke(app, ["run"], env={variable: str(tmp_path / "missing")})
    assert result.exit_code == 2
    assert "missing" in result.stderr and "nothing was loaded" in result.stderr
