"""Metrics and the scorecard for the CLI and the API: the history read, the catalogue's limits
joined, and the results as plain JSON-able rows.

The history is the engine's own (``log=None``) or an imported event log by name
(``lienthong import-log``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from adapters.bootstrap import App
from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.history_queries import load_history
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.errors import MetricsError
from workflow.history import History, history_from_log
from workflow.metrics import (
    AgencyTime,
    Limits,
    MetricsOptions,
    ProcedureMetrics,
    agency_times,
    procedure_metrics,
)
from workflow.scorecard import Scorecard, scorecard


def limits_of(catalogue: Catalogue) -> dict[tuple[str, str], Limits]:
    """Name, statutory limit and declared baseline of every procedure version."""
    return {
        (d.code, d.version): Limits(d.name.en, d.limit_days, d.baseline_days)
        for code in catalogue.codes()
        for d in catalogue.versions(code)
    }


def calendar_of(app: App, tz: str | None = None) -> WorkingCalendar:
    """The deployment's calendar, read in time zone ``tz`` if one is named."""
    if tz is None:
        return app.calendar
    try:
        return app.calendar.in_zone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise MetricsError(
            f"time zone '{tz}' is not known; give an IANA name such as Europe/Amsterdam"
        ) from None


_HISTORIES: dict[tuple[str, str], tuple[tuple[Any, ...], History]] = {}
_HISTORIES_LOCK = threading.Lock()


def _fingerprint(app: App) -> tuple[Any, ...]:
    """What changes whenever the engine's history does: every change of a dossier appends a
    control-sheet row, every hand-over an outbox row, every rating a rating (each read from
    an index: one seek each)."""
    with translated(app.settings.url), read_connection(app.store.engine) as connection:
        return tuple(
            connection.execute(select(func.max(column))).scalar()
            for column in (t.events.c.id, t.outbox.c.id, t.ratings.c.rated_at)
        )


def history_of(
    app: App, log: str | None = None, calendar: WorkingCalendar | None = None
) -> History:
    """The engine's history, or the imported event log named ``log``. The engine's is kept
    between requests until it changes (a million dossiers take seconds to read)."""
    calendar = calendar or app.calendar
    now = app.engine.clock.now()
    if log is None:
        key = (app.settings.url, str(calendar.tz))
        fingerprint = _fingerprint(app)
        with _HISTORIES_LOCK:
            kept = _HISTORIES.get(key)
        if kept is not None and kept[0] == fingerprint:
            return kept[1]
        history = load_history(app.store.engine, app.settings.url, calendar, now)
        with _HISTORIES_LOCK:
            _HISTORIES[key] = (fingerprint, history)
        return history
    from adapters.store.event_logs import load_log  # noqa: PLC0415 (only imports need it)

    utc_offset = now.astimezone(calendar.tz).utcoffset() or dt.timedelta()
    return history_from_log(load_log(app.store.engine, log), utc_offset=utc_offset)


@dataclasses.dataclass(frozen=True, slots=True)
class MetricsReport:
    """Per-procedure metrics and the agencies' time, with what they were computed over."""

    source: str
    options: MetricsOptions
    procedures: list[ProcedureMetrics]
    agencies: list[AgencyTime]


def metrics_report(
    app: App,
    options: MetricsOptions,
    *,
    procedure: str | None = None,
    log: str | None = None,
    tz: str | None = None,
    keep_durations: bool = False,
) -> MetricsReport:
    """The metrics of every procedure (or of ``procedure``) over ``options.period``; working
    time is counted on the deployment's calendar, read in time zone ``tz`` if one is named."""
    calendar = calendar_of(app, tz)
    history = history_of(app, log, calendar)
    found = procedure_metrics(
        history, calendar, limits_of(app.catalogue), options, keep_durations=keep_durations
    )
    if procedure is not None:
        found = [m for m in found if m.procedure == procedure]
    return MetricsReport(
        history.source, options, found, agency_times(history, calendar, options.period)
    )


def scorecard_report(
    app: App, options: MetricsOptions, *, log: str | None = None, tz: str | None = None
) -> Scorecard:
    """The plan's scorecard over ``options.period``."""
    calendar = calendar_of(app, tz)
    history = history_of(app, log, calendar)
    return scorecard(history, calendar, options.period, limits_of(app.catalogue), options)


def plain(value: Any) -> Any:  # noqa: PLR0911 (one return per kind of value)
    """A dataclass tree as JSON-able values (instants in ISO 8601, enums by value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def metrics_rows(report: MetricsReport) -> list[dict[str, Any]]:
    """One flat row per procedure version (no steps, no durations), for CSV and tables."""
    rows = []
    for m in report.procedures:
        row = plain(m)
        row.pop("steps")
        row.pop("durations_days")
        rows.append(row)
    return rows


def report_json(report: MetricsReport) -> dict[str, Any]:
    """The whole report as JSON-able data."""
    options = report.options
    return {
        "source": report.source,
        "period": plain(options.period),
        "baseline_period": plain(options.baseline_period),
        "min_count": options.min_count,
        "goal": options.goal,
        "confidence": options.confidence,
        "procedures": [
            {k: v for k, v in plain(m).items() if k != "durations_days"} for m in report.procedures
        ],
        "agencies": plain(report.agencies),
    }
