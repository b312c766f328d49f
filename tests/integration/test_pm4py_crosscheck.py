"""Our reading of event logs, checked against pm4py's (the reference process-mining library).

(a) The calendar-time duration of each case of the real WABO log (last event minus first), from
our reader, equals pm4py's for the same file, case by case: the XES read by ``pm4py.read_xes``,
the CSV by pandas and ``pm4py.format_dataframe``. (b) Our XES and CSV export of the engine's own
history reads back in pm4py with as many cases and events as the store holds.

pm4py is a test-only dependency (AGPL): it is imported inside the tests, never by the package.
It prints a banner and warns that an optional faster parser is not installed; that warning is
ignored here, every other warning still fails the test.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from adapters.eventlog import read_log
from adapters.eventlog.writer import CSV_COLUMNS, export_history
from tests.integration.conftest import sqlite_store
from tests.integration.test_event_log_export import IDENTITY, make_history
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.history import EventLog, case_bounds

DATA = Path(__file__).resolve().parent.parent / "data"
PM4PY_WARNINGS = [
    pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning"),
]
pytestmark = PM4PY_WARNINGS


def our_durations(log: EventLog) -> dict[str, float]:
    """Seconds from each case's first event to its last."""
    first, last = case_bounds(log.case, log.case_count)
    seconds = (log.at[last] - log.at[first]) / 1_000_000
    return dict(zip(log.case_id, seconds.tolist(), strict=True))


def pm4py_durations(frame: Any) -> dict[str, float]:
    """pm4py's case durations in seconds, by case id, and its list of all of them (checked to
    hold the same values)."""
    import pm4py  # noqa: PLC0415
    from pm4py.statistics.traces.generic.pandas import case_statistics  # noqa: PLC0415

    described = case_statistics.get_cases_description(frame)
    by_case = {str(case): float(d["caseDuration"]) for case, d in described.items()}
    assert sorted(pm4py.get_all_case_durations(frame)) == pytest.approx(sorted(by_case.values()))
    return by_case


def assert_same_durations(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert ours.keys() == theirs.keys()
    differ = {c: (ours[c], theirs[c]) for c in ours if abs(ours[c] - theirs[c]) >= 1e-3}
    assert not differ, f"{len(differ)} cases differ, e.g. {list(differ.items())[:3]}"


def test_wabo_case_durations_equal_pm4py_reading_the_xes() -> None:
    import pm4py  # noqa: PLC0415

    path = DATA / "receipt.xes.gz"
    theirs = pm4py_durations(pm4py.read_xes(str(path)))
    ours = our_durations(read_log(path))
    assert len(ours) == 1434
    assert_same_durations(ours, theirs)


@pytest.mark.parametrize(("file", "cases"), [("receipt.csv", 1434), ("BPIC15_1.csv.gz", 1199)])
def test_case_durations_equal_pm4py_reading_the_csv(file: str, cases: int) -> None:
    import pandas as pd  # noqa: PLC0415
    import pm4py  # noqa: PLC0415

    path = DATA / file
    # BPIC15_1's start_timestamp column is empty (completion times only): drop empty columns
    frame = pd.read_csv(path, dtype={"case:concept:name": str}).dropna(axis="columns", how="all")
    frame = pm4py.format_dataframe(
        frame,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )
    ours = our_durations(read_log(path))
    assert len(ours) == cases
    assert_same_durations(ours, pm4py_durations(frame))


# (b) our export of the engine's history


@pytest.mark.parametrize("file", ["history.xes.gz", "history.xes", "history.csv"])
def test_our_export_reads_back_in_pm4py(
    tmp_path: Path, catalogue: Catalogue, officer: Actor, file: str
) -> None:
    import pandas as pd  # noqa: PLC0415
    import pm4py  # noqa: PLC0415

    store = sqlite_store(tmp_path)
    try:
        dossiers, rows = make_history(store, catalogue, officer)
        path = tmp_path / file
        kind = "csv" if ".csv" in file else "xes"
        written = export_history(store.engine, path, kind)
    finally:
        store.close()
    assert (written.cases, written.events) == (dossiers, rows) == (6, 12)
    if kind == "xes":
        frame = pm4py.read_xes(str(path))
    else:
        frame = pm4py.format_dataframe(pd.read_csv(path))
        assert tuple(pd.read_csv(path).columns) == CSV_COLUMNS
    assert frame["case:concept:name"].nunique() == dossiers
    assert len(frame) == rows
    assert set(frame["concept:name"]) == {"submitted", "accepted", "birth_registration"}
    assert set(frame["org:resource"]) == {officer.principal}
    assert frame["time:timestamp"].dt.tz is not None
    assert frame["case:deadline"].notna().any()
    # our own reader reads it back, with the same cases and the applicant nowhere in it
    ours = read_log(path)
    assert (ours.case_count, len(ours)) == (dossiers, rows)
    assert set(ours.channel.names) == {"online", "counter"}
    assert_same_durations(our_durations(ours), pm4py_durations(frame))
    raw = path.read_bytes()
    text = gzip.decompress(raw) if file.endswith(".gz") else raw
    assert IDENTITY.encode() not in text and b"APPLICANT-REF" not in text
