"""``GET /api/v1/sla``: the SLA board (:mod:`workflow.board`) over HTTP, and ``GET /metrics``
for Prometheus."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from adapters.api.auth import Caller, forbid
from adapters.bootstrap import App
from adapters.store.principals import Role
from adapters.store.sla_board import sla_board
from workflow.board import Cell, Counts, Group, Handover, Item
from workflow.errors import CalendarError

router = APIRouter()


class CountsOut(BaseModel):
    on_track: int
    at_risk: int
    overdue: int
    paused: int
    not_started: int
    open: int

    @classmethod
    def of(cls, counts: Counts) -> CountsOut:
        return cls(
            on_track=counts.on_track,
            at_risk=counts.at_risk,
            overdue=counts.overdue,
            paused=counts.paused,
            not_started=counts.not_started,
            open=counts.open,
        )


class GroupOut(BaseModel):
    key: str
    dossiers: CountsOut
    steps: CountsOut


class CellOut(BaseModel):
    agency: str
    procedure: str
    dossiers: CountsOut


class BoardOut(BaseModel):
    """The SLA board: counts, groupings, and the first items of each list (``totals`` gives
    every list's full size)."""

    at: dt.datetime
    agency: str | None
    dossiers: CountsOut
    steps: CountsOut
    by_agency: list[GroupOut]
    by_procedure: list[GroupOut]
    by_officer: list[GroupOut]
    cells: list[CellOut]
    overdue: list[Item]
    at_risk: list[Item]
    overdue_steps: list[Item]
    apology_due: list[Item]
    undeliverable: list[Handover]
    repeat_supplements: list[Item]
    totals: dict[str, int]


def _group(group: Group) -> GroupOut:
    return GroupOut(
        key=group.key, dossiers=CountsOut.of(group.dossiers), steps=CountsOut.of(group.steps)
    )


def _cell(cell: Cell) -> CellOut:
    return CellOut(
        agency=cell.agency, procedure=cell.procedure, dossiers=CountsOut.of(cell.dossiers)
    )


def board_of(app: App, at: dt.datetime, agency: str | None, limit: int) -> BoardOut:
    """The board as the API answers it."""
    board = sla_board(
        app.store.engine,
        app.settings.url,
        at,
        app.catalogue,
        app.calendar,
        app.engine.policy,
        agency=agency,
        limit=limit,
    )
    return BoardOut(
        at=board.at,
        agency=board.agency,
        dossiers=CountsOut.of(board.dossiers),
        steps=CountsOut.of(board.steps),
        by_agency=[_group(g) for g in board.by_agency],
        by_procedure=[_group(g) for g in board.by_procedure],
        by_officer=[_group(g) for g in board.by_officer],
        cells=[_cell(c) for c in board.cells],
        overdue=list(board.overdue),
        at_risk=list(board.at_risk),
        overdue_steps=list(board.overdue_steps),
        apology_due=list(board.apology_due),
        undeliverable=list(board.undeliverable),
        repeat_supplements=list(board.repeat_supplements),
        totals=board.totals,
    )


@router.get("/api/v1/sla", response_model=BoardOut, tags=["sla"])
async def sla(
    request: Request,
    caller: Caller,
    at: Annotated[dt.datetime | None, Query(description="with its UTC offset; default now")] = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=0, le=500, description="items per list")] = 50,
) -> Response:
    """Where every open dossier and step stands: on track, at risk, overdue or paused, by
    agency, procedure and officer, with the overdue and at-risk lists, apologies due,
    undeliverable hand-overs and repeated supplement requests. An officer sees its own agency."""
    app: App = request.app.state.lienthong
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, {"field": "at", "reason": "give the instant with its UTC offset"})
    if caller.role is Role.OFFICER:
        if agency not in (None, caller.agency):
            raise forbid(f"an officer of {caller.agency} sees only its own agency's board")
        agency = caller.agency
    if at is not None:
        try:  # the board counts working time up to ``at``: the calendar must cover it
            app.calendar.to_work(at)
        except CalendarError as error:
            raise HTTPException(422, {"field": "at", "reason": str(error)}) from None
    instant = at or app.engine.clock.now()
    board = await run_in_threadpool(board_of, app, instant, agency, limit)
    return Response(board.model_dump_json(), media_type="application/json")


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus's scrape: open, at-risk and overdue dossiers per agency and procedure,
    hand-over latency and queue depth (no personal data; see :mod:`adapters.api.prometheus`)."""
    from adapters.api.prometheus import metrics_text  # noqa: PLC0415

    app: App = request.app.state.lienthong
    body = await run_in_threadpool(metrics_text, app)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
