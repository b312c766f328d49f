"""The endpoints of ``/api/v1``. Each only translates HTTP into a command on the core and the
result back into JSON; the errors are translated in :mod:`adapters.api.app`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel

from adapters.api.auth import Caller, listing_agency, may_act, may_read, may_submit
from adapters.api.schemas import (
    ActionRequest,
    DossierDetail,
    DossierOut,
    LookupRequest,
    Page,
    ProcedureOut,
    PublicStatusOut,
    Status,
    SubmitRequest,
    dossier_detail,
    dossier_out,
)
from adapters.bootstrap import App
from adapters.store.dossier_queries import Filters, list_dossiers, lookup
from workflow.definition import NationalStatus
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.errors import UnknownProcedure
from workflow.services import Act, Submit, act, retrying, submit, submit_once

router = APIRouter(prefix="/api/v1")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="the same key with the same body returns the same dossier",
    ),
]


def _app(request: Request) -> App:
    app: App = request.app.state.lienthong
    return app


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The answer serialised once, by pydantic (the route's ``response_model`` documents it;
    FastAPI does not validate and serialise it a second time)."""
    return Response(model.model_dump_json(), status, headers, media_type="application/json")


def _invalid(field: str, reason: str) -> HTTPException:
    return HTTPException(422, {"field": field, "reason": reason})


@router.post("/dossiers", status_code=201, response_model=DossierOut, tags=["dossiers"])
def submit_dossier(
    body: SubmitRequest,
    request: Request,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Submit a dossier; answers its code, status and due instant."""
    app = _app(request)
    now = app.engine.clock.now()
    received = body.submitted_at or now
    if received > now + dt.timedelta(minutes=5):
        raise _invalid("submitted_at", "is in the future; give the instant the dossier arrived")
    try:
        definition = app.catalogue.get(
            body.procedure, on=received.astimezone(app.calendar.tz).date()
        )
    except UnknownProcedure as error:
        raise _invalid("procedure", str(error)) from None
    if body.channel not in definition.channels:
        offered = ", ".join(c.value for c in definition.channels)
        raise _invalid(
            "channel",
            f"procedure {definition.code} is not offered via "
            f"'{body.channel.value}'; offered: {offered}",
        )
    may_submit(caller, definition.steps[0].agency, definition.code)
    command = Submit(
        definition.code,
        body.channel,
        body.applicant.ref,
        Actor(caller.id, caller.agency, caller.role.value),
        applicant_id=body.applicant.id_number,
        documents=tuple(body.documents),
        received_at=received,
    )
    store = app.store
    replayed = False
    if idempotency_key is None:
        dossier = retrying(lambda: submit(command, store.unit_of_work(), app.engine))
    else:
        fingerprint = hashlib.sha256(
            json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        dossier, made = retrying(
            lambda: submit_once(
                command, idempotency_key, fingerprint, store.unit_of_work(), app.engine
            )
        )
        replayed = not made
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return _json(DossierOut(**dossier_out(dossier)), 201, headers)


@router.get("/dossiers/{code}", response_model=DossierDetail, tags=["dossiers"])
def get_dossier(code: str, request: Request, caller: Caller) -> Response:
    """The dossier, its control sheet and the triggers allowed now."""
    app = _app(request)
    with app.store.reading() as uow:
        dossier = uow.dossiers.get(code)
    may_read(caller, dossier.agency, code)
    return _json(dossier_detail(dossier, app.engine.allowed_triggers(dossier)))


@router.post("/dossiers/{code}/actions", response_model=DossierDetail, tags=["dossiers"])
def act_on_dossier(code: str, body: ActionRequest, request: Request, caller: Caller) -> Response:
    """Fire a trigger; answers the new state. 409 when the trigger is not allowed now or the
    expected version is stale."""
    app = _app(request)
    command = Act(
        code,
        body.trigger,
        Actor(caller.id, caller.agency, caller.role.value),
        note=body.note,
        payload=body.payload,
        expected_version=body.expected_version,
    )

    def allowed(dossier: Dossier) -> None:
        may_act(caller, dossier.agency, code)

    def work() -> tuple[Dossier, ControlEvent]:
        return act(command, app.store.unit_of_work(), app.engine, check=allowed)

    dossier, _ = work() if body.expected_version is not None else retrying(work)
    return _json(dossier_detail(dossier, app.engine.allowed_triggers(dossier)))


@router.get("/dossiers", response_model=Page, tags=["dossiers"])
def list_of_dossiers(
    request: Request,
    caller: Caller,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[int | None, Query(ge=1, le=10, description="TrangThaiHoSo 1-10")] = None,
    procedure: Annotated[str | None, Query(max_length=32)] = None,
    due_before: Annotated[dt.datetime | None, Query(description="with a UTC offset")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page:
    """Dossiers by agency, national status, procedure and due instant, a page at a time."""
    if due_before is not None and due_before.tzinfo is None:
        raise _invalid("due_before", "give the instant with its UTC offset, e.g. +07:00")
    filters = Filters(
        agency=listing_agency(caller, agency),
        status=NationalStatus(status) if status is not None else None,
        procedure=procedure,
        due_before=due_before,
    )
    rows, total = list_dossiers(_app(request).store.engine, filters, page=page, size=page_size)
    items = [DossierOut(**dossier_out(r)) for r in rows]
    return Page(items=items, page=page, page_size=page_size, total=total)


@router.get("/procedures", response_model=list[ProcedureOut], tags=["procedures"])
def procedures(request: Request, caller: Caller) -> list[ProcedureOut]:
    """The procedure versions in force today."""
    app = _app(request)
    today = app.engine.clock.now().astimezone(app.calendar.tz).date()
    return [ProcedureOut.of(d) for d in app.catalogue.current(on=today)]


@router.get("/procedures/{code}", response_model=ProcedureOut, tags=["procedures"])
def procedure(
    code: str,
    request: Request,
    caller: Caller,
    version: Annotated[str | None, Query(max_length=32)] = None,
) -> ProcedureOut:
    """One procedure: the version in force today, or the one named."""
    app = _app(request)
    today = app.engine.clock.now().astimezone(app.calendar.tz).date()
    try:
        definition = app.catalogue.get(code, version=version, on=None if version else today)
    except UnknownProcedure as error:
        raise HTTPException(404, str(error)) from None
    return ProcedureOut.of(definition)


@router.post("/lookup", response_model=PublicStatusOut, tags=["public"])
def public_lookup(body: LookupRequest, request: Request) -> PublicStatusOut:
    """Tra cứu hồ sơ: anyone with the dossier code and the applicant's reference learns its
    status and due date, and nothing personal. No token needed."""
    found = lookup(_app(request).store.engine, body.code, body.applicant_ref)
    if found is None:
        raise HTTPException(404, "no dossier with that code and applicant reference")
    return PublicStatusOut(
        code=found.code,
        procedure=found.procedure_code,
        status=Status.of(found.status),
        closed=found.closed,
        due_at=found.due_at,
    )
