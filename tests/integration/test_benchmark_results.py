"""``python -m benchmarks`` keeps each benchmark's table and writes RESULTS.md with the machine,
the versions, the commands and the date (a tiny fake run; no server is asked)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from benchmarks import __main__ as bench_all
from benchmarks import bench_peers, bench_store, results


def _table() -> None:
    print("engine  dossiers/s")
    print("fake    1,234")


def _broken() -> None:
    print("half a table")
    raise RuntimeError("server down")


def test_results_hold_machine_versions_command_and_table(tmp_path: Path) -> None:
    runs = [
        results.capture("benchmarks.bench_fake", _table),
        results.capture("benchmarks.bench_broken", _broken, ["--size", "1"]),
    ]
    assert runs[0].output == "engine  dossiers/s\nfake    1,234\n" and runs[0].error is None
    assert runs[1].command == "python -m benchmarks.bench_broken --size 1"
    assert runs[1].error is not None and "server down" in runs[1].error
    at = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    path = results.write(
        runs,
        tmp_path / "RESULTS.md",
        version_facts=results.versions(postgres=None, broker=None),
        at=at,
        command="python -m benchmarks --only fake",
        not_run=["benchmarks.bench_store"],
    )
    text = path.read_text(encoding="utf-8")
    assert "## Machine" in text and "| CPU |" in text and "| cores |" in text
    assert "## Versions" in text and "| Python |" in text and "| SpiffWorkflow | 3." in text
    assert "| PostgreSQL server | not probed |" in text
    assert "Written by `python -m benchmarks --only fake` on 2026-11-26 12:00 UTC." in text
    assert "It holds: `bench_fake`, `bench_broken`. Not run this time: `bench_store`." in text
    assert "python -m benchmarks.bench_fake\n" in text and "fake    1,234" in text
    assert "**Failed**" in text and "RuntimeError: server down" in text
    assert str(tmp_path) not in text


def test_only_selects_benchmarks_by_short_or_full_name() -> None:
    assert bench_all.selected(["peers", "benchmarks.bench_store"]) == [bench_store, bench_peers]
    assert len(bench_all.selected(None)) == 11
    with pytest.raises(SystemExit, match="unknown benchmark 'nope'"):
        bench_all.selected(["nope"])


def test_an_output_that_cannot_be_written_is_named_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_all.unwritable(tmp_path / "RESULTS.md") is None
    assert "does not exist" in (bench_all.unwritable(tmp_path / "no" / "R.md") or "")
    assert "is a folder" in (bench_all.unwritable(tmp_path) or "")
    ran: list[str] = []
    monkeypatch.setattr(bench_all.results, "capture", lambda name, _: ran.append(name))
    missing = tmp_path / "no" / "RESULTS.md"
    monkeypatch.setattr("sys.argv", ["benchmarks", "--only", "calendar", "--output", str(missing)])
    with pytest.raises(SystemExit) as stopped:
        bench_all.main()
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert f"argument --output: the folder {missing.parent} does not exist" in said
    assert ran == []  # no benchmark ran
