"""The endpoints of ``/api/v1`` for planners and supervisors (processing-time metrics, the
reform scorecard) and the applicants' ratings that feed the scorecard's satisfaction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from adapters.api.auth import Caller, may_see_metrics
from adapters.api.schemas import Strict
from adapters.bootstrap import App
from adapters.reports import metrics_report, scorecard_report
from adapters.store.dossier_queries import record_rating
from workflow.metrics import AgencyTime, MetricsOptions, Period, ProcedureMetrics
from workflow.scorecard import Indicator

router = APIRouter(prefix="/api/v1")
Instant = Annotated[dt.datetime | None, Query(description="an instant with its UTC offset")]


class MetricsOut(BaseModel):
    """Per-procedure metrics over a period, and the working days spent at each agency."""

    source: str
    start: dt.datetime | None
    end: dt.datetime | None
    baseline_start: dt.datetime | None
    baseline_end: dt.datetime | None
    min_count: int
    goal: float
    procedures: list[ProcedureMetrics]
    agencies: list[AgencyTime]


class ScorecardOut(BaseModel):
    """The plan's indicators over ``[start, end)``, each with its monthly trend."""

    source: str
    start: dt.datetime
    end: dt.datetime
    indicators: list[Indicator]


class RatingRequest(Strict):
    """An applicant's rating of a dossier whose result was returned (one per dossier)."""

    code: str = Field(min_length=1, max_length=64)
    applicant_ref: str = Field(min_length=1, max_length=64)
    level: Literal["very_satisfied", "satisfied", "dissatisfied"]
    comment: str | None = Field(default=None, max_length=2000)


class RatingOut(BaseModel):
    code: str
    level: str
    rated_at: dt.datetime


def _app(request: Request) -> App:
    app: App = request.app.state.lienthong
    return app


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(422, {"field": field, "reason": "give the instant with its UTC offset"})
    return value


def _options(
    start: dt.datetime | None,
    end: dt.datetime | None,
    baseline_from: dt.datetime | None,
    baseline_to: dt.datetime | None,
    min_count: int,
) -> MetricsOptions:
    baseline = None
    if baseline_from is not None or baseline_to is not None:
        baseline = Period(
            _aware(baseline_from, "baseline_from"), _aware(baseline_to, "baseline_to")
        )
    period = Period(_aware(start, "from"), _aware(end, "to"))
    return MetricsOptions(period=period, baseline_period=baseline, min_count=min_count)


@router.get("/metrics/procedures", response_model=MetricsOut, tags=["metrics"])
async def procedure_metrics(
    request: Request,
    caller: Caller,
    start: Annotated[dt.datetime | None, Query(alias="from", description="with UTC offset")] = None,
    end: Annotated[dt.datetime | None, Query(alias="to", description="excluded")] = None,
    procedure: Annotated[str | None, Query(max_length=32)] = None,
    baseline_from: Instant = None,
    baseline_to: Instant = None,
    min_count: Annotated[int, Query(ge=1, le=1_000_000)] = 30,
    log: Annotated[str | None, Query(max_length=64, description="an imported log")] = None,
) -> MetricsOut:
    """Processing time per procedure version (median, p90, on-time rate, where the time goes)
    and its reduction against the baseline: the 20% goal. Supervisors and planners."""
    may_see_metrics(caller)
    options = _options(start, end, baseline_from, baseline_to, min_count)
    report = await run_in_threadpool(
        metrics_report, _app(request), options, procedure=procedure, log=log
    )
    baseline = options.baseline_period or Period()
    return MetricsOut(
        source=report.source,
        start=options.period.start,
        end=options.period.end,
        baseline_start=baseline.start,
        baseline_end=baseline.end,
        min_count=options.min_count,
        goal=options.goal,
        procedures=report.procedures,
        agencies=report.agencies,
    )


@router.get("/scorecard", response_model=ScorecardOut, tags=["metrics"])
async def reform_scorecard(
    request: Request,
    caller: Caller,
    start: Annotated[dt.datetime | None, Query(alias="from", description="with UTC offset")] = None,
    end: Annotated[dt.datetime | None, Query(alias="to", description="excluded")] = None,
    baseline_from: Instant = None,
    baseline_to: Instant = None,
    log: Annotated[str | None, Query(max_length=64, description="an imported log")] = None,
) -> ScorecardOut:
    """Every target of the plan over the period: value, target, met, counts, monthly trend."""
    may_see_metrics(caller)
    options = _options(start, end, baseline_from, baseline_to, 30)
    card = await run_in_threadpool(scorecard_report, _app(request), options, log=log)
    return ScorecardOut(
        source=card.source, start=card.start, end=card.end, indicators=list(card.indicators)
    )


@router.post("/lookup/rating", status_code=201, response_model=RatingOut, tags=["public"])
def rate_dossier(body: RatingRequest, request: Request) -> RatingOut:
    """The applicant rates a dossier whose result was returned, with the dossier code and their
    reference (no token needed). Feeds the scorecard's satisfaction indicator."""
    app = _app(request)
    now = app.engine.clock.now()
    if not record_rating(
        app.store.engine, body.code, body.applicant_ref, body.level, now, body.comment
    ):
        raise HTTPException(404, "no dossier with that code and applicant reference")
    return RatingOut(code=body.code, level=body.level, rated_at=now)
