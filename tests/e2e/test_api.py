"""The back-office API through real HTTP: ``lienthong serve`` on a free loopback port, on the
embedded SQLite store and on PostgreSQL, driven by the Python client and by raw requests."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from adapters.api.client import ApiError, Client
from tests.e2e.api_server import (
    INSURANCE,
    POLICE,
    WARD,
    Server,
)

LINKED = "2.000986"
PAPERS = ["birth_declaration", "birth_certificate", "residence_declaration"]
IDENTITY = "001099012345"


@pytest.fixture
def server(api_server: Server) -> Server:
    return api_server


def _client(server: Server, who: str | None) -> Client:
    return Client(server.url, server.tokens[who] if who else None)


def _submit(server: Server, ref: str | None = None, **extra: object) -> dict[str, object]:
    with _client(server, "ward") as api:
        return api.submit(
            LINKED,
            "online",
            applicant_ref=ref or uuid.uuid4().hex[:12],
            documents=PAPERS,
            **extra,  # type: ignore[arg-type]
        )


def test_a_dossier_goes_from_submission_to_the_next_agency(server: Server) -> None:
    dossier = _submit(server, id_number=IDENTITY)
    assert dossier["status"] == {"code": 1, "name": "submitted_online"}
    assert dossier["agency"] == WARD and dossier["version"] == 1
    code = str(dossier["code"])
    with _client(server, "ward") as ward:
        detail = ward.dossier(code)
        assert detail["allowed_triggers"] == ["accept", "refuse", "request_supplement", "withdraw"]
        assert [e["trigger"] for e in detail["history"]] == ["receive"]
        assert IDENTITY not in json.dumps(detail)  # the identity number never comes back
        accepted = ward.act(code, "accept", note="đủ giấy tờ")
        assert accepted["status"]["code"] == 2 and accepted["due_at"] is not None
        handed = ward.act(code, "hand_over", expected_version=accepted["version"])
        handed = ward.act(code, "hand_over", expected_version=handed["version"])
        assert handed["agency"] == POLICE
        with pytest.raises(ApiError) as gone:  # no longer at the ward: not its to read
            ward.dossier(code)
        assert gone.value.status == 403
    with _client(server, "police") as police:
        assert police.dossier(code)["history"][-1]["to_agency"] == POLICE


def test_a_trigger_not_allowed_now_answers_409_naming_the_allowed_ones(server: Server) -> None:
    code = str(_submit(server)["code"])
    response = httpx.post(
        f"{server.url}/api/v1/dossiers/{code}/actions",
        json={"trigger": "finish"},
        headers=server.headers("ward"),
    )
    assert response.status_code == 409
    assert response.json()["allowed_triggers"] == [
        "accept",
        "refuse",
        "request_supplement",
        "withdraw",
    ]
    assert "finish" in response.json()["detail"]


def test_a_stale_version_answers_409_and_changes_nothing(server: Server) -> None:
    code = str(_submit(server)["code"])
    with _client(server, "ward") as ward:
        ward.act(code, "accept")
        with pytest.raises(ApiError) as stale:
            ward.act(code, "hand_over", expected_version=1)
        assert stale.value.status == 409 and "version" in stale.value.detail
        assert ward.dossier(code)["state"] == "accepted"


def test_lists_filter_and_page(server: Server) -> None:
    ref = uuid.uuid4().hex[:8]
    codes = [str(_submit(server, f"{ref}-{n}")["code"]) for n in range(3)]
    with _client(server, "supervisor") as supervisor:
        page = supervisor.dossiers(agency=WARD, status=1, procedure=LINKED, page_size=2)
        assert page["page_size"] == 2 and len(page["items"]) == 2 and page["total"] >= 3
        everything = supervisor.dossiers(agency=WARD, status=1, page_size=200)["items"]
        assert set(codes) <= {item["code"] for item in everything}
        assert supervisor.dossiers(agency=INSURANCE, status=1)["total"] == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
        assert supervisor.dossiers(due_before=later, status=1)["total"] == 0  # no due yet
    with _client(server, "ward") as ward:
        assert all(i["agency"] == WARD for i in ward.dossiers()["items"])
        with pytest.raises(ApiError) as other:
            ward.dossiers(agency=POLICE)
        assert other.value.status == 403


def test_procedures_are_listed_and_shown(server: Server) -> None:
    with _client(server, "planner") as planner:
        codes = {p["code"] for p in planner.procedures()}
        assert LINKED in codes and len(codes) == 10
        linked = planner.procedure(LINKED)
        assert linked["reception_agency"] == WARD and linked["version"] == "2025"
        with pytest.raises(ApiError) as unknown:
            planner.procedure("9.999999")
        assert unknown.value.status == 404


def test_the_public_lookup_tells_status_and_due_date_only(server: Server) -> None:
    ref = uuid.uuid4().hex[:10]
    code = str(_submit(server, ref, id_number=IDENTITY)["code"])
    with Client(server.url) as anyone:
        found = anyone.lookup(code, ref)
        assert set(found) == {"code", "procedure", "status", "closed", "due_at"}
        assert found["status"]["code"] == 1
        with pytest.raises(ApiError) as wrong:
            anyone.lookup(code, "someone else")
        assert wrong.value.status == 404


def test_health_reports_the_database_and_the_broker(server: Server) -> None:
    with Client(server.url) as anyone:
        assert anyone.health() == {"database": "ok", "broker": "ok"}
    assert httpx.get(f"{server.url}/docs").status_code == 200
    assert "/api/v1/dossiers" in httpx.get(f"{server.url}/openapi.json").json()["paths"]


# -- idempotent submission -------------------------------------------------------------------


def test_the_same_key_and_body_returns_the_same_dossier(server: Server) -> None:
    key, ref = uuid.uuid4().hex, uuid.uuid4().hex[:12]
    with _client(server, "ward") as ward:
        first = ward.submit(LINKED, "online", applicant_ref=ref, idempotency_key=key)
        again = ward.submit(LINKED, "online", applicant_ref=ref, idempotency_key=key)
        assert again == first
        with pytest.raises(ApiError) as conflict:
            ward.submit(LINKED, "counter", applicant_ref=ref, idempotency_key=key)
        assert conflict.value.status == 409 and "idempotency key" in conflict.value.detail
    assert server.count(applicant_ref=ref) == 1


def test_concurrent_retries_with_one_key_make_exactly_one_dossier(server: Server) -> None:
    key, ref = uuid.uuid4().hex, uuid.uuid4().hex[:12]

    def attempt(_: int) -> httpx.Response:
        body = {"procedure": LINKED, "channel": "online", "applicant": {"ref": ref}}
        headers = {**server.headers("ward"), "Idempotency-Key": key}
        return httpx.post(f"{server.url}/api/v1/dossiers", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["code"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert server.count(applicant_ref=ref) == 1


class _LosesFirstAnswer(httpx.HTTPTransport):
    """A real connection that loses the server's first answer, as a flaky network would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.calls += 1
        if self.calls == 1:
            response.read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_the_client_retries_a_lost_answer_without_a_second_dossier(server: Server) -> None:
    ref = uuid.uuid4().hex[:12]
    transport = _LosesFirstAnswer()
    with Client(server.url, server.tokens["ward"], transport=transport) as ward:
        dossier = ward.submit(LINKED, "online", applicant_ref=ref)
    assert transport.calls == 2 and dossier["status"]["code"] == 1
    assert server.count(applicant_ref=ref) == 1


# -- bad input: a 4xx naming the field, and nothing written ------------------------------------


def _post(server: Server, content: bytes | str, who: str = "ward") -> httpx.Response:
    headers = {**server.headers(who), "Content-Type": "application/json"}
    return httpx.post(f"{server.url}/api/v1/dossiers", content=content, headers=headers)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ('{"procedure": "2.000986", "channel": ', 400, "body"),
        (
            '{"procedure": "9.999999", "channel": "online", "applicant": {"ref": "R"}}',
            422,
            "procedure",
        ),
        ('{"procedure": "2.000986", "channel": "post", "applicant": {"ref": "R"}}', 422, "channel"),
        ('{"procedure": "2.000986", "channel": "online"}', 422, "applicant"),
        ('{"procedure": "2.000986", "channel": "fax", "applicant": {"ref": "R"}}', 422, "channel"),
        (
            '{"procedure": "2.000986", "channel": "online", "applicant": {"ref": "R", '
            '"id_number": "12ab"}}',
            422,
            "applicant.id_number",
        ),
        (
            '{"procedure": "2.000986", "channel": "online", "applicant": {"ref": "R"}, '
            '"submitted_at": "2026-03-02T09:00:00"}',
            422,
            "submitted_at",
        ),
        (
            '{"procedure": "2.000986", "channel": "online", "applicant": {"ref": "R"}, '
            '"submitted_at": "2999-03-02T09:00:00+07:00"}',
            422,
            "submitted_at",
        ),
    ],
    ids=[
        "malformed",
        "unknown-procedure",
        "channel-not-offered",
        "missing-applicant",
        "unknown-channel",
        "bad-identity",
        "naive-instant",
        "future-instant",
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    server: Server, body: str, status: int, field: str
) -> None:
    before = server.count()
    response = _post(server, body)
    assert response.status_code == status, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert server.count() == before


def test_an_oversized_body_answers_413_and_writes_nothing(server: Server) -> None:
    before = server.count()
    papers = ",".join(f'"{n:060d}"' for n in range(2000))  # about 120 KB
    body = (
        '{"procedure": "2.000986", "channel": "online", "applicant": {"ref": "R"}, '
        f'"documents": [{papers}]}}'
    )
    response = _post(server, body)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    assert server.count() == before


def test_tokens_and_identity_numbers_never_reach_the_logs(server: Server) -> None:
    _submit(server, id_number=IDENTITY)
    httpx.get(f"{server.url}/api/v1/dossiers", headers={"Authorization": "Bearer lt_nope"})
    printed = server.printed()
    assert "POST /api/v1/dossiers" in printed  # the access log is there
    assert IDENTITY not in printed
    assert not any(token in printed for token in server.tokens.values())


def test_the_submit_command_goes_through_the_api(server: Server, tmp_path: Path) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    ref = uuid.uuid4().hex[:12]
    env = {**server.env, "LIENTHONG_API_URL": server.url, "LIENTHONG_TOKEN": server.tokens["ward"]}
    command = [
        sys.executable,
        "-m",
        "adapters.cli",
        "submit",
        "--procedure",
        LINKED,
        "--applicant-ref",
        ref,
        "--document",
        "birth_declaration",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"]["code"] == 1
    refused = subprocess.run(
        [*command[:5], "9.999999", *command[6:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "procedure" in refused.stderr
    assert server.count(applicant_ref=ref) == 1
