"""schemathesis against the API's own OpenAPI schema, through real HTTP on the embedded store:
a bounded number of generated requests per operation, with an administrator's token (so that
requests get past authentication), and not one may answer 5xx.

schemathesis's pytest plugin (``from_fixture``) does not run under pytest 9, so each operation's
hypothesis strategy (``APIOperation.as_strategy``) is driven directly, one test per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.e2e.api_server import Server, running

EXAMPLES = 30  # per operation
OPERATIONS = [
    "GET /health",
    "GET /api/v1/procedures",
    "GET /api/v1/procedures/{code}",
    "GET /api/v1/dossiers",
    "POST /api/v1/dossiers",
    "GET /api/v1/dossiers/{code}",
    "POST /api/v1/dossiers/{code}/actions",
    "POST /api/v1/lookup",
    "POST /api/v1/lookup/rating",
    "GET /api/v1/metrics/procedures",
    "GET /api/v1/scorecard",
    "GET /api/v1/sla",
    "POST /api/v1/dossiers/{code}/apology",
    "GET /api/v1/dossiers/{code}/forms/04",
    "GET /api/v1/dossiers/{code}/forms/05",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("schema")) as server:
        yield server


@pytest.fixture(scope="module")
def operations(server: Server) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_the_schema_lists_every_operation(operations: dict[str, Any]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_no_generated_request_gets_a_server_error(
    operations: dict[str, Any], server: Server, name: str
) -> None:
    headers = server.headers("admin")
    statuses: list[int] = []

    @given(case=operations[name].as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        statuses.append(response.status_code)

    check()
    assert statuses and max(statuses) < 500  # requests were made, and none failed the server
