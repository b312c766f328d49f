"""The ``lienthong`` command line, end to end."""

from __future__ import annotations

import json
import os
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


def test_calendar_due_prints_one_iso_line() -> None:
    code, out, _ = invoke("calendar", "due", "--start", "2026-02-13T09:00+07:00", "--days", "3")
    assert code == 0 and out == "2026-02-25T09:00:00+07:00\n"
    code, out, _ = invoke("calendar", "due", "--start", "2026-03-02T15:30+07:00", "--days", "0")
    assert out == "2026-03-03T17:00:00+07:00\n"
    code, out, _ = invoke(
        "calendar", "due", "--start", "2026-03-02T15:30+07:00", "--days", "0", "--cutoff", "16:00"
    )
    assert out == "2026-03-02T17:00:00+07:00\n"
    code, out, _ = invoke(
        "calendar",
        "due",
        "--start",
        "2026-03-06T09:00+07:00",
        "--days",
        "1",
        "--pause",
        "2026-03-06T16:00+07:00/2026-03-09T09:00+07:00",
    )
    assert out == "2026-03-09T11:00:00+07:00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-06T09:00", "--days", "1"], "has no UTC offset"),
        (["--start", "yesterday", "--days", "1"], "is not an ISO 8601 instant"),
        (["--start", "2026-03-06T09:00+07:00", "--days", "-1"], "limit -1 working days is invalid"),
        (["--start", "2026-03-06T09:00+07:00", "--days", "0.3"], "is invalid"),
        (["--start", "2026-03-06T09:00+07:00", "--days", "1", "--pause", "x"], "START/END"),
        (
            [
                "--start",
                "2026-03-06T09:00+07:00",
                "--days",
                "1",
                "--pause",
                "2026-03-06T12:00+07:00/2026-03-06T10:00+07:00",
            ],
            "ends before it starts",
        ),
        (["--start", "2026-03-06T09:00+07:00", "--days", "0", "--cutoff", "3pm"], "HH:MM"),
    ],
)
def test_calendar_due_bad_input(args: list[str], message: str) -> None:
    code, out, err = invoke("calendar", "due", *args)
    assert code == 2 and out == ""
    assert message in err


def test_calendar_working_time() -> None:
    code, out, _ = invoke(
        "calendar",
        "working-time",
        "--start",
        "2026-08-20T09:00+07:00",
        "--end",
        "2026-09-03T09:00+07:00",
    )
    assert code == 0 and out == "64\n"


def test_calendar_days_lists_sources() -> None:
    code, out, _ = invoke("calendar", "days", "--year", "2026", "--format", "json")
    days = {d["date"]: d for d in json.loads(out)}
    assert code == 0
    assert days["2026-02-17"]["kind"] == "day_off" and days["2026-02-17"]["source"] == "package"
    assert days["2026-08-22"]["kind"] == "working_day"
    assert "override" in days["2026-08-22"]["source"]
    code, out, _ = invoke("calendar", "days", "--year", "2026")
    assert "2026-08-31" in out and "working_day" in out


def test_a_broken_calendar_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "calendar.yaml"
    bad.write_text("overrides:\n  - {date: 2026-02-10, kind: holiday}\n", encoding="utf-8")
    result = runner.invoke(
        app, ["calendar", "days", "--year", "2026"], env={"LIENTHONG_CALENDAR_FILE": str(bad)}
    )
    assert result.exit_code == 2
    assert "overrides[0].kind" in result.stderr


@pytest.mark.parametrize(("columns", "width"), [(None, "200"), ("100", "100")])
def test_tables_written_to_a_pipe_are_not_squeezed_to_80_columns(
    columns: str | None, width: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    code = "from adapters.cli.common import out; print(out.width)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == width
