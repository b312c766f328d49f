"""``lienthong metrics`` and ``lienthong scorecard``: the plan's figures, as a table, JSON or CSV,
with charts on request."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from adapters.bootstrap import App, bootstrap
from adapters.cli.common import fail, out
from adapters.reports import (
    MetricsReport,
    metrics_report,
    metrics_rows,
    plain,
    report_json,
    scorecard_report,
)
from workflow.errors import WorkflowError
from workflow.metrics import MetricsOptions, Period
from workflow.scorecard import Scorecard


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


From = Annotated[
    str | None,
    typer.Option("--from", help="start: a date (local midnight) or an ISO instant with offset"),
]
To = Annotated[
    str | None,
    typer.Option("--to", help="end: a date (included) or an ISO instant with offset (excluded)"),
]
FormatOption = Annotated[Output, typer.Option("--format", help="table, json or csv")]
LogOption = Annotated[
    str | None, typer.Option("--log", help="an imported event log's name instead of our history")
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="write charts into this folder", file_okay=False)
]
PlotFormat = Annotated[str, typer.Option("--plot-format", help="png or svg")]
BaselineFrom = Annotated[
    str | None, typer.Option("--baseline-from", help="measure baselines from this date")
]
BaselineTo = Annotated[str | None, typer.Option("--baseline-to", help="... up to this date")]
ZoneOption = Annotated[
    str | None,
    typer.Option("--tz", help="read office hours in this zone (an imported log's own country)"),
]


def instant(
    text: str | None, option: str, tz: dt.tzinfo, *, end: bool = False
) -> dt.datetime | None:
    """A command-line instant: a date is local midnight (the next day's, for an end date, so
    that the date itself is included); an instant must carry its UTC offset."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
        return midnight + dt.timedelta(days=1) if end else midnight
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            ValueError(
                f"{option} '{text}' is neither a date (2025-01-31) nor an instant "
                "(2025-01-31T08:00:00+07:00)"
            )
        ) from None
    if value.tzinfo is None:
        raise fail(ValueError(f"{option} '{text}' has no UTC offset; add one such as +07:00"))
    return value


def _app() -> App:
    try:
        return bootstrap()
    except WorkflowError as error:
        raise fail(error) from None


def _options(
    app: App,
    start: str | None,
    end: str | None,
    baseline_from: str | None = None,
    baseline_to: str | None = None,
    min_count: int = 30,
) -> MetricsOptions:
    tz = app.calendar.tz
    try:
        baseline = None
        if baseline_from is not None or baseline_to is not None:
            baseline = Period(
                instant(baseline_from, "--baseline-from", tz),
                instant(baseline_to, "--baseline-to", tz, end=True),
            )
        return MetricsOptions(
            period=Period(instant(start, "--from", tz), instant(end, "--to", tz, end=True)),
            baseline_period=baseline,
            min_count=min_count,
        )
    except WorkflowError as error:
        raise fail(error) from None


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def metrics_table(report: MetricsReport) -> Table:
    """Procedures as rows: time, on-time rate, limit, baseline, reduction, goal."""
    table = Table(title=f"Processing time ({report.source}; working days)", title_justify="left")
    for column in (
        "procedure",
        "version",
        "finished",
        "median",
        "p90",
        "on time",
        "early",
        "late",
        "limit",
        "baseline",
        "reduction [95% CI]",
        "20% goal",
    ):
        table.add_column(column, no_wrap=column in ("procedure", "version"))
    for m in report.procedures:
        baseline = _days(m.baseline_days)
        if m.baseline_source is not None:
            baseline += f" ({m.baseline_source})"
        reduction = "-"
        if m.reduction is not None:
            reduction = f"{m.reduction:.1%} [{m.reduction_low:.1%}, {m.reduction_high:.1%}]"
        goal = m.goal.value.replace("_", " ") + (" (confirmed)" if m.confirmed else "")
        table.add_row(
            m.procedure,
            m.version,
            str(m.finished),
            _days(m.median_days),
            _days(m.p90_days),
            _pct(m.on_time_rate),
            _pct(m.early_share),
            str(m.late),
            _days(m.limit_days),
            baseline,
            reduction,
            goal,
        )
    return table


def _write_csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def show_metrics(report: MetricsReport, output: Output) -> None:
    """Print a report in the chosen form."""
    if output is Output.JSON:
        sys.stdout.write(json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n")
    elif output is Output.CSV:
        _write_csv(metrics_rows(report))
    else:
        out.print(metrics_table(report))
        if report.procedures:
            worst = max(report.procedures, key=lambda m: m.finished)
            if worst.steps:
                steps = Table(
                    title=f"Where the time goes: {worst.procedure} @ {worst.version}",
                    title_justify="left",
                )
                for column in ("step", "agency", "dossiers", "mean days", "share"):
                    steps.add_column(column)
                for s in worst.steps[:10]:
                    steps.add_row(
                        s.step, s.agency, str(s.dossiers), _days(s.mean_days), _pct(s.share)
                    )
                out.print(steps)


def show_log_metrics(name: str, tz: str | None = None) -> None:
    """The metrics of an imported event log, as a table (after ``lienthong import-log``)."""
    app = _app()
    try:
        report = metrics_report(app, MetricsOptions(), log=name, tz=tz)
    except WorkflowError as error:
        raise fail(error) from None
    show_metrics(report, Output.TABLE)


def metrics(
    start: From = None,
    end: To = None,
    procedure: Annotated[str | None, typer.Option("--procedure", help="one procedure code")] = None,
    output: FormatOption = Output.TABLE,
    log: LogOption = None,
    baseline_from: BaselineFrom = None,
    baseline_to: BaselineTo = None,
    min_count: Annotated[
        int, typer.Option("--min-count", min=1, help="fewest dossiers for a verdict")
    ] = 30,
    plot: PlotOption = None,
    plot_format: PlotFormat = "png",
    tz: ZoneOption = None,
) -> None:
    """Processing-time metrics per procedure: median and p90 working days, on-time rate,
    where the time goes, and the 20% time-reduction goal against each baseline."""
    app = _app()
    options = _options(app, start, end, baseline_from, baseline_to, min_count)
    try:
        report = metrics_report(
            app, options, procedure=procedure, log=log, tz=tz, keep_durations=plot is not None
        )
        if plot is not None:
            from adapters.plots import plot_procedures  # noqa: PLC0415 (matplotlib is slow)

            written = plot_procedures(report.procedures, plot, plot_format, options.goal)
    except WorkflowError as error:
        raise fail(error) from None
    show_metrics(report, output)
    if plot is not None:
        typer.echo(f"{len(written)} chart(s) written to {plot}", err=True)


def scorecard_table(card: Scorecard) -> Table:
    """Indicators as rows: value, target, met, counts and the last months."""
    table = Table(
        title=f"Reform scorecard {card.start:%Y-%m-%d} to {card.end:%Y-%m-%d} ({card.source})",
        title_justify="left",
    )
    for column in ("indicator", "value", "target", "met", "count", "by month"):
        table.add_column(column, overflow="fold")
    for i in card.indicators:
        met = "-" if i.met is None else ("yes" if i.met else "[red]no[/]")
        months = "  ".join(f"{m.month}: {_pct(m.value)}" for m in i.trend[-6:])
        table.add_row(
            f"{i.name_en}\n[dim]{i.name_vi}[/]",
            _pct(i.value),
            f"≥ {i.target:.0%}",
            met,
            f"{i.numerator}/{i.denominator}",
            months,
        )
    return table


def scorecard(
    start: From = None,
    end: To = None,
    output: FormatOption = Output.TABLE,
    log: LogOption = None,
    baseline_from: BaselineFrom = None,
    baseline_to: BaselineTo = None,
    plot: PlotOption = None,
    plot_format: PlotFormat = "png",
    tz: ZoneOption = None,
) -> None:
    """The plan's targets over a period: value, target, met or not, and the trend by month."""
    app = _app()
    options = _options(app, start, end, baseline_from, baseline_to)
    try:
        card = scorecard_report(app, options, log=log, tz=tz)
        if plot is not None:
            from adapters.plots import plot_scorecard  # noqa: PLC0415

            path = plot_scorecard(card, plot, plot_format)
    except WorkflowError as error:
        raise fail(error) from None
    if output is Output.JSON:
        sys.stdout.write(json.dumps(plain(card), ensure_ascii=False, indent=2) + "\n")
    elif output is Output.CSV:
        rows = [
            {
                "indicator": i.key,
                "month": month,
                "numerator": numerator,
                "denominator": denominator,
                "value": value,
                "target": i.target,
                "met": i.met if month == "period" else None,
            }
            for i in card.indicators
            for month, numerator, denominator, value in (
                ("period", i.numerator, i.denominator, i.value),
                *((m.month, m.numerator, m.denominator, m.value) for m in i.trend),
            )
        ]
        _write_csv(rows)
    else:
        out.print(scorecard_table(card))
    if plot is not None:
        typer.echo(f"chart written to {path}", err=True)
