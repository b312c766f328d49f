"""The authorization matrix: every role (and no token, and a wrong one) against every endpoint,
through real HTTP on the embedded store and on PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.api_server import WARD, Server

LINKED = "2.000986"
PAPERS = ["birth_declaration", "birth_certificate", "residence_declaration"]
CALLERS = ["nobody", "forged", "ward", "police", "supervisor", "planner", "admin"]
#: endpoint -> expected status per caller, in the order of CALLERS
MATRIX = {
    "submit": [401, 401, 201, 403, 403, 403, 201],
    "read": [401, 401, 200, 403, 200, 200, 200],
    "act": [401, 401, 200, 403, 403, 403, 200],
    "list": [401, 401, 200, 200, 200, 200, 200],
    "list ward's": [401, 401, 200, 403, 200, 200, 200],
    "procedures": [401, 401, 200, 200, 200, 200, 200],
    "procedure": [401, 401, 200, 200, 200, 200, 200],
    "lookup": [200, 200, 200, 200, 200, 200, 200],
    "rating": [404, 404, 404, 404, 404, 404, 404],  # public: a wrong reference, never 401
    "metrics": [401, 401, 403, 403, 200, 200, 200],
    "scorecard": [401, 401, 403, 403, 200, 200, 200],
    "sla": [401, 401, 200, 200, 200, 200, 200],  # an officer sees its own agency's board
    "sla of the ward": [401, 401, 200, 403, 200, 200, 200],
    "apology": [401, 401, 422, 403, 403, 403, 422],  # who may act; a fresh dossier has no clock
    "health": [200, 200, 200, 200, 200, 200, 200],
    "form 05": [401, 401, 200, 403, 200, 200, 200],  # who may read the dossier
    "form 04": [401, 401, 422, 403, 422, 422, 422],  # readers learn no apology is owed
}


@pytest.fixture
def server(api_server: Server) -> Server:
    return api_server


def _headers(server: Server, caller: str) -> dict[str, str]:
    if caller == "nobody":
        return {}
    if caller == "forged":
        return {"Authorization": "Bearer lt_000000000000_not-a-real-token"}
    return server.headers(caller)


def _fresh(server: Server, ref: str) -> str:
    body = {
        "procedure": LINKED,
        "channel": "online",
        "applicant": {"ref": ref},
        "documents": PAPERS,
    }
    answer = httpx.post(f"{server.url}/api/v1/dossiers", json=body, headers=server.headers("ward"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def _call(server: Server, endpoint: str, headers: dict[str, str]) -> httpx.Response:
    url = f"{server.url}/api/v1"
    ref = uuid.uuid4().hex[:12]
    calls = {
        "submit": lambda: httpx.post(
            f"{url}/dossiers",
            json={"procedure": LINKED, "channel": "online", "applicant": {"ref": ref}},
            headers=headers,
        ),
        "read": lambda: httpx.get(f"{url}/dossiers/{_fresh(server, ref)}", headers=headers),
        "act": lambda: httpx.post(
            f"{url}/dossiers/{_fresh(server, ref)}/actions",
            json={"trigger": "accept"},
            headers=headers,
        ),
        "list": lambda: httpx.get(f"{url}/dossiers", headers=headers),
        "list ward's": lambda: httpx.get(
            f"{url}/dossiers", params={"agency": WARD}, headers=headers
        ),
        "procedures": lambda: httpx.get(f"{url}/procedures", headers=headers),
        "procedure": lambda: httpx.get(f"{url}/procedures/{LINKED}", headers=headers),
        "lookup": lambda: httpx.post(
            f"{url}/lookup",
            json={"code": _fresh(server, ref), "applicant_ref": ref},
            headers=headers,
        ),
        "rating": lambda: httpx.post(
            f"{url}/lookup/rating",
            json={"code": _fresh(server, ref), "applicant_ref": "not-" + ref, "level": "satisfied"},
            headers=headers,
        ),
        "metrics": lambda: httpx.get(f"{url}/metrics/procedures", headers=headers),
        "sla": lambda: httpx.get(f"{url}/sla", headers=headers),
        "apology": lambda: httpx.post(
            f"{url}/dossiers/{_fresh(server, ref)}/apology",
            json={"new_due": "2030-01-02T17:00:00+07:00", "reason": "waiting for the police"},
            headers=headers,
        ),
        "sla of the ward": lambda: httpx.get(
            f"{url}/sla", params={"agency": WARD}, headers=headers
        ),
        "scorecard": lambda: httpx.get(
            f"{url}/scorecard",
            params={"from": "2026-01-01T00:00:00+07:00", "to": "2027-01-01T00:00:00+07:00"},
            headers=headers,
        ),
        "health": lambda: httpx.get(f"{server.url}/health", headers=headers),
        "form 05": lambda: httpx.get(
            f"{url}/dossiers/{_fresh(server, ref)}/forms/05", headers=headers
        ),
        "form 04": lambda: httpx.get(
            f"{url}/dossiers/{_fresh(server, ref)}/forms/04", headers=headers
        ),
    }
    return calls[endpoint]()


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_role_against_every_endpoint(server: Server, endpoint: str) -> None:
    got = [_call(server, endpoint, _headers(server, caller)).status_code for caller in CALLERS]
    assert dict(zip(CALLERS, got, strict=True)) == dict(zip(CALLERS, MATRIX[endpoint], strict=True))


def test_a_refusal_says_why(server: Server) -> None:
    code = _fresh(server, uuid.uuid4().hex[:12])
    url = f"{server.url}/api/v1/dossiers/{code}"
    missing = httpx.get(url)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "no bearer token" in missing.json()["detail"]
    wrong = httpx.get(url, headers=server.headers("police")).json()["detail"]
    assert wrong == f"dossier {code} is at agency {WARD}, not at 000.09.71.H26"
    body = {"procedure": LINKED, "channel": "online", "applicant": {"ref": "R"}}
    planner = httpx.post(
        f"{server.url}/api/v1/dossiers", json=body, headers=server.headers("planner")
    )
    assert "a planner cannot submit" in planner.json()["detail"]
