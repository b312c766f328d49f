"""The SLA board end to end: ``GET /api/v1/sla``, Prometheus's ``GET /metrics``, ``lienthong
sla`` and the apology (``POST /api/v1/dossiers/{code}/apology``), through real HTTP on SQLite
and PostgreSQL, against the board the store counts."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from adapters.bootstrap import App
from adapters.store.sla_board import sla_board
from procedures import load_agencies, load_catalogue
from procedures.calendar_file import DEFAULT_CALENDAR, load_calendar
from tests.conftest import FixedClock
from tests.e2e.api_server import POLICE, WARD, Server, serving
from tests.histories import VN, make_history, plans
from workflow.engine import Engine
from workflow.sla import SlaPolicy


def seed(app: App) -> None:
    clock = FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))
    engine = Engine(app.catalogue, clock, app.calendar)
    make_history(plans(44), app.store.unit_of_work, engine, clock)  # 4 left open: overdue now


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serving(request, tmp_path_factory, "sla", seed) as found:
        yield found


def board(server: Server, at: dt.datetime, agency: str | None = None):  # type: ignore[no-untyped-def]
    catalogue = load_catalogue(agencies=load_agencies())
    calendar = load_calendar(DEFAULT_CALENDAR)
    store = server.store
    return sla_board(store.engine, store.url, at, catalogue, calendar, SlaPolicy(), agency=agency)


def test_the_api_answers_the_stores_board(server: Server) -> None:
    at = "2026-11-02T10:00:00+07:00"
    answer = httpx.get(
        f"{server.url}/api/v1/sla", params={"at": at}, headers=server.headers("supervisor")
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    expected = board(server, dt.datetime.fromisoformat(at))
    assert found["dossiers"]["overdue"] == expected.dossiers.overdue == 4
    assert found["dossiers"]["open"] == expected.dossiers.open
    assert [i["code"] for i in found["overdue"]] == [i.code for i in expected.overdue]
    assert found["totals"]["apology_due"] == expected.totals["apology_due"] == 4
    assert [g["key"] for g in found["by_agency"]] == [g.key for g in expected.by_agency]
    assert found["overdue"][0]["hours"] < 0 and found["overdue"][0]["standing"] == "overdue"


def test_an_officer_sees_its_own_agency(server: Server) -> None:
    mine = httpx.get(f"{server.url}/api/v1/sla", headers=server.headers("police")).json()
    assert mine["agency"] == POLICE
    assert {g["key"] for g in mine["by_agency"]} <= {POLICE}
    other = httpx.get(
        f"{server.url}/api/v1/sla", params={"agency": WARD}, headers=server.headers("police")
    )
    assert other.status_code == 403 and "its own agency" in other.json()["detail"]
    naive = httpx.get(
        f"{server.url}/api/v1/sla",
        params={"at": "2026-11-02T10:00:00"},
        headers=server.headers("supervisor"),
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "at"
    for far in ("9999-12-31T00:00:00+07:00", "1999-12-31T00:00:00+07:00"):
        outside = httpx.get(
            f"{server.url}/api/v1/sla", params={"at": far}, headers=server.headers("supervisor")
        )
        assert outside.status_code == 422, outside.text
        [error] = outside.json()["errors"]
        assert error["field"] == "at" and "the calendar's" in error["reason"]


def test_prometheus_metrics_count_the_same_dossiers(server: Server) -> None:
    scraped = httpx.get(f"{server.url}/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    assert "# TYPE lienthong_open_dossiers gauge" in text
    overdue = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("lienthong_open_dossiers{") and 'standing="overdue"' in line
    )
    expected = board(server, dt.datetime.now(dt.UTC))
    assert overdue == expected.dossiers.overdue
    assert "lienthong_handover_latency_seconds_count" in text
    assert 'lienthong_outbox_messages{agency="' in text or "lienthong_outbox_messages" in text


def test_the_cli_prints_the_board(server: Server) -> None:
    def lienthong(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", "sla", *args],
            env={**server.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    printed = lienthong("--at", "2026-11-02T10:00:00+07:00", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["dossiers"]["overdue"] == 4
    table = lienthong("--agency", POLICE)
    assert table.returncode == 0, table.stderr
    assert "SLA board" in table.stdout and POLICE in table.stdout
    wrong = lienthong("--at", "yesterday")
    assert wrong.returncode == 2 and "--at 'yesterday'" in wrong.stderr


def test_an_apology_resets_the_return_date_once(server: Server) -> None:
    at = "2026-11-02T10:00:00+07:00"
    found = httpx.get(
        f"{server.url}/api/v1/sla", params={"at": at}, headers=server.headers("supervisor")
    ).json()
    item = found["apology_due"][0]
    code, agency = item["code"], item["agency"]
    officer = {WARD: "ward", POLICE: "police"}.get(agency, "admin")
    body = {"new_due": "2026-12-31T17:00:00+07:00", "reason": "chờ xác minh của cơ quan khác"}
    url = f"{server.url}/api/v1/dossiers/{code}/apology"
    done = httpx.post(url, json=body, headers=server.headers(officer))
    assert done.status_code == 200, done.text
    assert done.json()["history"][-1]["trigger"] == "apologise"
    again = httpx.post(url, json=body, headers=server.headers(officer))
    assert again.status_code == 409 and "once" in again.json()["detail"]
    supervisor = httpx.post(url, json=body, headers=server.headers("supervisor"))
    assert supervisor.status_code == 403
    form = httpx.get(
        f"{server.url}/api/v1/dossiers/{code}/forms/04", headers=server.headers(officer)
    )
    assert form.status_code == 200 and "31/12/2026" in form.text
    after = httpx.get(
        f"{server.url}/api/v1/sla", params={"at": at}, headers=server.headers("supervisor")
    ).json()
    assert code not in [i["code"] for i in after["apology_due"]]
    assert after["dossiers"]["overdue"] == found["dossiers"]["overdue"] - 1
