"""A calibrated baseline reproduces the history it came from: our own history, made through the
real engine into SQLite and PostgreSQL, and the real WABO receipt log. Each is simulated and
compared with the history on the Earth Mover's Distance over 1-hour bins and the median.

The bounds are those measured (see benchmarks/README.md, "What-if simulation") with some room;
both histories are small (146 and 1,434 finished dossiers), so their medians are rough."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.eventlog.reader import read_log
from adapters.store.history_queries import load_history
from adapters.store.store import SqlStore
from tests.conftest import FixedClock
from tests.histories import VN, make_history, plans
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine
from workflow.history import history_from_log
from workflow.simulation import calibrate, check_model, validate

CALENDAR = WorkingCalendar()
AMSTERDAM = WorkingCalendar().in_zone(ZoneInfo("Europe/Amsterdam"))
DATA = Path(__file__).resolve().parents[1] / "data"
LINKED = "2.000986"


def test_a_baseline_calibrated_from_our_history_reproduces_it(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    made = plans(160)
    make_history(made, sql.unit_of_work, Engine(catalogue, clock, CALENDAR), clock)
    history = load_history(sql.engine, sql.url, CALENDAR, dt.datetime(2026, 6, 1, tzinfo=VN))
    model = calibrate(history, CALENDAR, catalogue)
    assert check_model(model) == []
    [procedure] = model.procedures
    assert (procedure.code, procedure.version, procedure.limit_days) == (LINKED, "2025", 3)
    assert model.start == dt.date(2026, 3, 2) and model.horizon_days == 54
    assert procedure.arrivals.per_year == pytest.approx(160 / 54 * 365.25, rel=1e-3)
    assert dict(procedure.arrivals.channels)["online"] == pytest.approx(106 / 160)
    assert procedure.arrivals.hours[9] == 1.0  # every plan is received at 09:00
    residence = procedure.step("residence_registration")
    assert residence.agency == "000.09.71.H26" and residence.electronic_share == 1.0
    finished = [p for p in made if p.finish]
    asked = sum(p.supplement_hours is not None for p in finished) / len(finished)
    assert residence.supplement is not None
    assert residence.supplement.probability == pytest.approx(asked)
    assert procedure.baseline_source == "history"

    found = validate(model, history, CALENDAR, replications=10, seed=1)
    assert found.historical == len(finished) == 146
    assert found.emd_hours < 3.5  # measured 2.4 to 2.8 hours (mean processing time: 14 hours)
    assert found.median_relative_error is not None
    assert abs(found.median_relative_error) < 0.3  # measured +14%: 8 hours against 7


def test_a_baseline_calibrated_from_the_wabo_log_reproduces_it(catalogue: Catalogue) -> None:
    log = read_log(DATA / "receipt.csv")
    history = history_from_log(log, utc_offset=dt.timedelta(hours=1))
    model = calibrate(history, AMSTERDAM, catalogue)
    assert check_model(model) == []
    [procedure] = model.procedures
    assert procedure.code == "receipt" and len(procedure.paths) > 100  # the log's variants
    assert sum(p.weight for p in procedure.paths) == 1434
    assert procedure.limit_days == 28  # the 8-week deadline, in working days
    assert 0 < procedure.case_correlation < 1

    found = validate(model, history, AMSTERDAM, replications=10, seed=1)
    assert found.historical == 1434
    assert found.emd_hours < 10  # measured 6.6 to 7.7 hours (mean processing time: 30 hours)
    assert found.median_relative_error is not None
    assert abs(found.median_relative_error) < 0.45  # measured -10% to -31% (of 0.64 hours)


def test_the_wabo_log_calibrates_the_same_from_csv_and_xes() -> None:
    models = [
        calibrate(history_from_log(read_log(DATA / name)), AMSTERDAM)
        for name in ("receipt.csv", "receipt.xes.gz")
    ]
    assert models[0] == models[1]
