"""The FastAPI application: routes, error translation, the body-size limit, health.

Every error answer is a :class:`~adapters.api.schemas.Problem`: ``detail`` says what was wrong
and what to do; for bad input ``errors`` lists each field and its reason. Nothing is written
when a request fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.api.form_routes import router as form_router
from adapters.api.report_routes import router as report_router
from adapters.api.routes import router
from adapters.api.schemas import Health, Problem
from adapters.api.sla_routes import router as sla_router
from adapters.bootstrap import App
from adapters.dashboard import router as dashboard_router
from adapters.store.database import read_connection
from adapters.store.event_logs import UnknownLog
from adapters.store.principals import Authenticator
from workflow.errors import (
    CalendarError,
    ConcurrentUpdate,
    DossierNotFound,
    GuardRejected,
    IdempotencyConflict,
    InvalidDossier,
    InvalidLog,
    InvalidPayload,
    MetricsError,
    StoreUnavailable,
    TransitionError,
    TriggerNotAllowed,
    UnknownProcedure,
    WorkflowError,
)

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # bytes: a dossier's JSON is a few hundred; its papers travel elsewhere

BusCheck = Callable[[], str]


def _problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(Problem(detail=detail, **extra).model_dump(exclude_none=True), status)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, by its Content-Length or as it
    streams in, before any handler reads it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _problem(413, f"the request body is larger than {self.limit} bytes; send less")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body",)]
    return ".".join(parts) or "body"


async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _field(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "invalid"))}
        for e in error.errors()
    ]
    broken = [e for e in error.errors() if e.get("type") == "json_invalid"]
    if broken:
        where = broken[0].get("ctx", {}).get("error", "")
        reason = f"not valid JSON ({where}) at character {broken[0]['loc'][-1]}"
        return _problem(
            400, "the body is not valid JSON", errors=[{"field": "body", "reason": reason}]
        )
    return _problem(422, "the request is not valid; see errors", errors=errors)


async def _http(request: Request, error: HTTPException) -> JSONResponse:
    if isinstance(error.detail, dict) and "field" in error.detail:
        reason = str(error.detail["reason"])
        return _problem(
            error.status_code,
            reason,
            errors=[{"field": str(error.detail["field"]), "reason": reason}],
        )
    response = _problem(error.status_code, str(error.detail))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


#: how each error of the core answers
_STATUS: list[tuple[type[WorkflowError], int]] = [
    (DossierNotFound, 404),
    (UnknownProcedure, 404),
    (TriggerNotAllowed, 409),
    (GuardRejected, 409),
    (InvalidPayload, 422),
    (ConcurrentUpdate, 409),
    (IdempotencyConflict, 409),
    (InvalidDossier, 422),
    (CalendarError, 409),
    (MetricsError, 422),
    (UnknownLog, 404),
    (InvalidLog, 422),
    (StoreUnavailable, 503),
    (TransitionError, 409),
]


async def _workflow(request: Request, error: WorkflowError) -> JSONResponse:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            if isinstance(error, TriggerNotAllowed):
                return _problem(status, str(error), allowed_triggers=list(error.allowed))
            return _problem(status, str(error))
    log.error("unexpected engine error: %s", type(error).__name__)
    return _problem(500, "the engine failed; the request changed nothing")


def create_app(app: App, *, bus_check: BusCheck | None = None, max_body: int = MAX_BODY) -> FastAPI:
    """The API over a bootstrapped application. ``bus_check`` reports the broker for
    ``/health`` ("ok", or what is wrong); without it the broker is reported "not used"."""
    api = FastAPI(
        title="lienthong back-office API",
        version="1",
        description="Submit and act on dossiers of Vietnamese administrative procedures.",
    )
    api.state.lienthong = app
    api.state.authenticate = Authenticator(app.store.engine)
    api.include_router(router)
    api.include_router(report_router)
    api.include_router(sla_router)
    api.include_router(form_router)
    api.include_router(dashboard_router)
    api.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    api.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    api.add_exception_handler(WorkflowError, _workflow)  # type: ignore[arg-type]
    api.add_middleware(BodyLimit, limit=max_body)

    @api.get("/health", response_model=Health, tags=["health"])
    def health() -> JSONResponse:
        """Whether the database and the broker can be reached (503 if either cannot)."""
        try:
            with read_connection(app.store.engine) as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as error:  # any driver failure is "unreachable"
            database = f"unreachable: {type(error).__name__}"
        broker = bus_check() if bus_check is not None else "not used"
        ok = database == "ok" and broker in ("ok", "not used")
        return JSONResponse(
            Health(database=database, broker=broker).model_dump(), 200 if ok else 503
        )

    return api
