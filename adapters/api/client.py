"""A Python client of the back-office API, for back-office systems to import (httpx).

    from adapters.api.client import Client

    with Client("http://127.0.0.1:8000", token) as api:
        dossier = api.submit("1.001193", "online", applicant_ref="R-1", documents=[...])
        api.act(dossier["code"], "accept")

:meth:`Client.submit` sends an ``Idempotency-Key`` (a new one per call unless given) and
retries on a lost connection, a timeout or a 502/503/504 with the same key and body, so a
network hiccup never makes a second dossier. Every other failure raises :class:`ApiError`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

import httpx

_RETRY_STATUS = frozenset({502, 503, 504})


def wait_until_up(
    url: str,
    *,
    seconds: float = 60.0,
    path: str = "/health",
    alive: Callable[[], bool] | None = None,
) -> None:
    """Return once ``url + path`` answers 200 (a server just started); ``TimeoutError`` after
    ``seconds``, or ``RuntimeError`` as soon as ``alive()`` says the server process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the server at {url} exited before it answered")
        try:
            if httpx.get(f"{url.rstrip('/')}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the server at {url} did not answer within {seconds:.0f} s")


class ApiError(Exception):
    """The API refused a request: its status, what it said, and the fields at fault."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        self.status = status
        self.detail = detail
        self.errors = errors or []
        fields = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in self.errors)
        super().__init__(f"HTTP {status}: {detail}" + (f" ({fields})" if fields else ""))


class Client:
    """One principal's connection to the API."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.retries = retries

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **options: Any) -> Any:
        response = self.http.request(method, path, **options)
        return self._answer(response)

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.is_success:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text or response.reason_phrase}
        raise ApiError(response.status_code, str(body.get("detail")), body.get("errors"))

    def submit(
        self,
        procedure: str,
        channel: str,
        *,
        applicant_ref: str,
        id_number: str | None = None,
        documents: Iterable[str] = (),
        submitted_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit a dossier; its code, status and due instant. Retried safely (see above)."""
        body: dict[str, Any] = {
            "procedure": procedure,
            "channel": channel,
            "applicant": {"ref": applicant_ref, "id_number": id_number},
            "documents": list(documents),
        }
        if submitted_at is not None:
            body["submitted_at"] = submitted_at.isoformat()
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.http.post("/api/v1/dossiers", json=body, headers=headers)
            except (httpx.TransportError, httpx.TimeoutException):
                if last:
                    raise
            else:
                if response.status_code not in _RETRY_STATUS or last:
                    answer: dict[str, Any] = self._answer(response)
                    return answer
            time.sleep(min(0.2 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def dossier(self, code: str) -> dict[str, Any]:
        """The dossier, its control sheet and the triggers allowed now."""
        answer: dict[str, Any] = self._call("GET", f"/api/v1/dossiers/{code}")
        return answer

    def act(
        self,
        code: str,
        trigger: str,
        *,
        note: str | None = None,
        payload: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Fire ``trigger`` on the dossier; its new state."""
        body: dict[str, Any] = {"trigger": trigger, "note": note, "payload": payload or {}}
        if expected_version is not None:
            body["expected_version"] = expected_version
        answer: dict[str, Any] = self._call("POST", f"/api/v1/dossiers/{code}/actions", json=body)
        return answer

    def dossiers(self, **filters: Any) -> dict[str, Any]:
        """A page of dossiers: ``agency``, ``status``, ``procedure``, ``due_before``,
        ``page``, ``page_size``."""
        params = {
            k: (v.isoformat() if isinstance(v, dt.datetime) else v)
            for k, v in filters.items()
            if v is not None
        }
        answer: dict[str, Any] = self._call("GET", "/api/v1/dossiers", params=params)
        return answer

    def procedures(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self._call("GET", "/api/v1/procedures")
        return answer

    def procedure(self, code: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", f"/api/v1/procedures/{code}")
        return answer

    def lookup(self, code: str, applicant_ref: str) -> dict[str, Any]:
        """The public status lookup (no token needed)."""
        body = {"code": code, "applicant_ref": applicant_ref}
        answer: dict[str, Any] = self._call("POST", "/api/v1/lookup", json=body)
        return answer

    def health(self) -> dict[str, Any]:
        response = self.http.get("/health")
        answer: dict[str, Any] = response.json()
        return answer
