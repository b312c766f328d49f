"""``lienthong sla``: the SLA board in a terminal (``watch``: the alert scheduler)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from adapters.alerts.scheduler import AlertReport, open_alerts
from adapters.api.sla_routes import BoardOut, CountsOut, board_of
from adapters.bootstrap import App, bootstrap
from adapters.cli.common import fail, out, stop_on_signals
from adapters.cli.metrics import Output, instant
from workflow.errors import WorkflowError

sla_app = typer.Typer(
    help="The SLA board: open dossiers on track, at risk, overdue; and the alerts.",
    invoke_without_command=True,
)


def _app() -> App:
    try:
        return bootstrap()
    except WorkflowError as error:
        raise fail(error) from None


def _counts_row(counts: CountsOut) -> list[str]:
    return [
        str(counts.open),
        str(counts.on_track),
        f"[yellow]{counts.at_risk}[/]" if counts.at_risk else "0",
        f"[red]{counts.overdue}[/]" if counts.overdue else "0",
        str(counts.paused),
        str(counts.not_started),
    ]


def board_tables(board: BoardOut, rows: int = 20) -> list[Table]:
    """The board as terminal tables: counts by agency, then the lists."""
    scope = board.agency or "every agency"
    counts = Table(
        title=f"SLA board at {board.at:%Y-%m-%d %H:%M %z} ({scope})", title_justify="left"
    )
    for column in ("", "open", "on track", "at risk", "overdue", "paused", "not started"):
        counts.add_column(column, justify="left" if not column else "right")
    counts.add_row("[bold]dossiers[/]", *_counts_row(board.dossiers))
    counts.add_row("[bold]steps[/]", *_counts_row(board.steps))
    for group in board.by_agency:
        counts.add_row(group.key, *_counts_row(group.dossiers))
    tables = [counts]
    for name, title in (
        ("overdue", "Overdue dossiers"),
        ("at_risk", "At risk"),
        ("overdue_steps", "Overdue steps"),
        ("apology_due", "Apology (form 04) due or overdue"),
        ("repeat_supplements", "More than one supplement request"),
    ):
        items = getattr(board, name)[:rows]
        table = Table(title=f"{title}: {board.totals.get(name, 0)}", title_justify="left")
        for column in ("dossier", "procedure", "agency", "step", "officer", "due", "hours"):
            table.add_column(column, overflow="fold")
        for item in items:
            table.add_row(
                item.code,
                f"{item.procedure}@{item.version}",
                item.agency,
                item.step or "",
                item.assignee or "",
                f"{item.due_at.astimezone(board.at.tzinfo):%Y-%m-%d %H:%M}",
                f"{item.hours:.1f}",
            )
        tables.append(table)
    lost = Table(
        title=f"Undeliverable hand-overs: {len(board.undeliverable)}", title_justify="left"
    )
    for column in ("dossier", "from", "to", "service", "given up"):
        lost.add_column(column)
    for h in board.undeliverable[:rows]:
        lost.add_row(
            h.dossier_code,
            h.from_agency,
            h.to_agency,
            h.service,
            f"{h.undeliverable_at:%Y-%m-%d %H:%M}",
        )
    tables.append(lost)
    return tables


@sla_app.callback()
def sla(
    context: typer.Context,
    at: Annotated[
        str | None, typer.Option("--at", help="the instant (ISO with offset, or a date); now")
    ] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="one agency's board")] = None,
    output: Annotated[Output, typer.Option("--format", help="table or json")] = Output.TABLE,
    limit: Annotated[int, typer.Option("--limit", min=0, max=500, help="items per list")] = 50,
) -> None:
    """Where every open dossier and step stands at an instant (default: now)."""
    if context.invoked_subcommand is not None:
        return
    if output is Output.CSV:
        raise fail(ValueError("--format csv is not offered for the board; use table or json"))
    app = _app()
    moment = instant(at, "--at", app.calendar.tz) or app.engine.clock.now()
    try:
        board = board_of(app, moment, agency, limit)
    except WorkflowError as error:
        raise fail(error) from None
    if output is Output.JSON:
        sys.stdout.write(board.model_dump_json(indent=2) + "\n")
        return
    for table in board_tables(board):
        out.print(table)


def _print(report: AlertReport) -> None:
    out.print(report.line(), highlight=False)


@sla_app.command("watch")
def watch(
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", min=1, help="seconds between evaluations; LIENTHONG_ALERT_INTERVAL"
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="evaluate and deliver once, then exit")] = (
        False
    ),
) -> None:
    """Run the SLA alert scheduler in the foreground (for deployments that serve the API with
    --no-alerts): record each change to at risk or overdue, send the webhooks. Ctrl-C stops."""
    app = _app()
    try:
        scheduler = open_alerts(app, interval=interval)
    except WorkflowError as error:
        raise fail(error) from None
    if scheduler is None:
        raise fail(
            LookupError(
                "no alert hooks are configured: write them in var/alerts.yaml, or name the file "
                "with LIENTHONG_ALERTS_FILE (the README shows the format)"
            )
        )
    if once:
        try:
            _print(scheduler.run_once())
        except WorkflowError as error:
            raise fail(error) from None
        return
    names = ", ".join(hook.name for hook in scheduler.hooks)
    out.print(f"alerts to {names} every {scheduler.interval:g} s; Ctrl-C stops", highlight=False)
    scheduler.run(stop_on_signals(), on_report=_print)
    out.print("stopped")
