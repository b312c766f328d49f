"""Metrics, the scorecard and ratings end to end: a history made through the engine, then read
over real HTTP (``/api/v1/metrics/procedures``, ``/api/v1/scorecard``, ``/api/v1/lookup/rating``)
and through the ``lienthong metrics`` and ``lienthong scorecard`` commands, on SQLite and on
PostgreSQL. The API's and the CLI's figures must be the core's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from adapters.bootstrap import App
from adapters.store import tables as t
from adapters.store.history_queries import load_history
from procedures.calendar_file import DEFAULT_CALENDAR, load_calendar
from tests.conftest import FixedClock
from tests.e2e.api_server import Server, serving
from tests.histories import VN, make_history, plans
from workflow.calendar import WorkingCalendar
from workflow.engine import Engine
from workflow.metrics import MetricsOptions, Period, procedure_metrics

PERIOD = {"from": "2026-03-01T00:00:00+07:00", "to": "2026-06-01T00:00:00+07:00"}


def seed(app: App) -> None:
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))
    engine = Engine(app.catalogue, clock, app.calendar)
    make_history(plans(44), app.store.unit_of_work, engine, clock)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serving(request, tmp_path_factory, "metrics", seed) as found:
        yield found


def lienthong(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        env={**server.env, "COLUMNS": "200"},  # tables as wide as their text
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_api_answers_the_cores_figures(server: Server) -> None:
    answer = httpx.get(
        f"{server.url}/api/v1/metrics/procedures",
        params={**PERIOD, "min_count": 5},
        headers=server.headers("planner"),
    )
    assert answer.status_code == 200, answer.text
    [linked] = answer.json()["procedures"]
    history = load_history(server.store.engine, server.store.url, _calendar(), _now())
    period = Period(dt.datetime(2026, 3, 1, tzinfo=VN), dt.datetime(2026, 6, 1, tzinfo=VN))
    [core] = procedure_metrics(history, _calendar(), None, MetricsOptions(period, min_count=5))
    assert (linked["procedure"], linked["version"]) == ("2.000986", "2025")
    assert linked["finished"] == core.finished == 40
    assert linked["median_days"] == pytest.approx(core.median_days)
    assert linked["on_time_rate"] == pytest.approx(core.on_time_rate)
    assert linked["limit_days"] == 3 and linked["goal"] == "no_baseline"
    assert {s["agency"] for s in linked["steps"]} >= {"000.09.71.H26", "000.08.71.H26"}


def test_a_rating_feeds_the_scorecard(server: Server) -> None:
    with server.store.engine.connect() as connection:
        code, ref = connection.execute(
            select(t.dossiers.c.code, t.dossiers.c.applicant_ref)
            .where(t.dossiers.c.status == 10)
            .order_by(t.dossiers.c.code)
        ).first()  # type: ignore[misc]
    body = {"code": code, "applicant_ref": ref, "level": "very_satisfied"}
    first = httpx.post(f"{server.url}/api/v1/lookup/rating", json=body)
    assert first.status_code == 201, first.text
    again = httpx.post(f"{server.url}/api/v1/lookup/rating", json=body)
    assert again.status_code == 422 and "already rated" in again.json()["detail"]
    wrong = httpx.post(f"{server.url}/api/v1/lookup/rating", json={**body, "level": "meh"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "level"
    card = httpx.get(
        f"{server.url}/api/v1/scorecard",
        params={"from": PERIOD["from"], "to": "2030-01-01T00:00:00+07:00"},
        headers=server.headers("supervisor"),
    )
    assert card.status_code == 200, card.text
    by_key = {i["key"]: i for i in card.json()["indicators"]}
    assert (by_key["satisfaction"]["numerator"], by_key["satisfaction"]["denominator"]) == (1, 1)
    assert by_key["online_share"]["denominator"] == 44
    assert by_key["electronic_handovers"]["value"] == 1.0
    assert by_key["electronic_handovers"]["met"] is True


def test_bad_periods_are_refused_by_name(server: Server) -> None:
    url = f"{server.url}/api/v1/metrics/procedures"
    naive = httpx.get(
        url, params={"from": "2026-03-01T00:00:00"}, headers=server.headers("planner")
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
    reversed_ = httpx.get(
        url, params={"from": PERIOD["to"], "to": PERIOD["from"]}, headers=server.headers("planner")
    )
    assert reversed_.status_code == 422 and "before it starts" in reversed_.json()["detail"]
    unknown = httpx.get(url, params={"log": "nope"}, headers=server.headers("planner"))
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


def test_the_cli_prints_the_same_figures_as_json_csv_and_tables(
    server: Server, tmp_path: Path
) -> None:
    api = httpx.get(
        f"{server.url}/api/v1/metrics/procedures",
        params={**PERIOD, "min_count": 5},
        headers=server.headers("planner"),
    ).json()
    printed = lienthong(
        server, "metrics", "--from", "2026-03-01", "--to", "2026-05-31", "--min-count", "5",
        "--format", "json",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    [linked] = json.loads(printed.stdout)["procedures"]
    assert linked["median_days"] == pytest.approx(api["procedures"][0]["median_days"])
    rows = list(csv.DictReader(io.StringIO(lienthong(server, "metrics", "--format", "csv").stdout)))
    assert rows[0]["procedure"] == "2.000986" and rows[0]["finished"] == "40"
    table = lienthong(server, "scorecard", "--from", "2026-03-01", "--to", "2026-05-31")
    assert table.returncode == 0, table.stderr
    assert "Dossiers received online" in table.stdout and "Where" not in table.stdout
    plots = tmp_path / "charts"
    charted = lienthong(server, "metrics", "--plot", str(plots), "--format", "csv")
    assert charted.returncode == 0, charted.stderr
    assert (plots / "processing-2.000986-2025.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trend = lienthong(server, "scorecard", "--plot", str(plots), "--plot-format", "svg")
    assert trend.returncode == 0, trend.stderr
    assert (plots / "scorecard-trend.svg").read_text().lstrip().startswith("<?xml")


def test_the_cli_names_a_bad_option(server: Server) -> None:
    naive = lienthong(server, "metrics", "--from", "2026-03-01T08:00:00")
    assert naive.returncode == 2 and "--from" in naive.stderr and "+07:00" in naive.stderr
    garbage = lienthong(server, "scorecard", "--to", "next tuesday")
    assert garbage.returncode == 2 and "--to 'next tuesday'" in garbage.stderr
    zone = lienthong(server, "metrics", "--tz", "Mars/Base")
    assert zone.returncode == 2 and "time zone 'Mars/Base' is not known" in zone.stderr
    reversed_ = lienthong(server, "metrics", "--from", "2026-05-01", "--to", "2026-04-01")
    assert reversed_.returncode == 2 and "before it starts" in reversed_.stderr


def _calendar() -> WorkingCalendar:
    return load_calendar(DEFAULT_CALENDAR)  # the one the server uses


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
