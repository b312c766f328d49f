"""Commands on the working-day calendar."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from adapters.bootstrap import Settings
from adapters.cli.common import (
    Format,
    fail,
    out,
)
from procedures.calendar_file import load_calendar
from workflow.calendar import Pause, WorkingCalendar
from workflow.errors import WorkflowError

calendar_app = typer.Typer(help="The working-day calendar and due instants.", no_args_is_help=True)


def current_calendar() -> WorkingCalendar:
    try:
        return load_calendar(Settings.from_env().calendar_file)
    except WorkflowError as error:
        raise fail(error) from None


def parse_instant(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            ValueError(f"{what} '{text}' is not an ISO 8601 instant, e.g. 2026-02-13T09:00+07:00")
        ) from None
    if value.tzinfo is None:
        raise fail(ValueError(f"{what} '{text}' has no UTC offset; add one, e.g. {text}+07:00"))
    return value


def parse_pause(text: str) -> Pause:
    start, sep, end = text.partition("/")
    if not sep:
        raise fail(ValueError(f"pause '{text}' must be START/END, two ISO 8601 instants"))
    return Pause(parse_instant(start, "pause start"), parse_instant(end, "pause end"))


@calendar_app.command("due")
def calendar_due(
    start: Annotated[str, typer.Option(help="When the clock starts (ISO 8601 with offset).")],
    days: Annotated[float, typer.Option(help="Limit in working days; 0 means same day.")],
    pause: Annotated[list[str] | None, typer.Option(help="A pause START/END (repeatable).")] = None,
    cutoff: Annotated[
        str | None, typer.Option(help="Same-day cut-off HH:MM (default: the calendar's).")
    ] = None,
) -> None:
    """Print the due instant, in ISO 8601 with its UTC offset, alone on its line."""
    calendar = current_calendar()
    at = parse_instant(start, "start")
    pauses = [parse_pause(p) for p in pause or []]
    limit: dt.time | None = None
    if cutoff is not None:
        try:
            limit = dt.time.fromisoformat(cutoff)
        except ValueError:
            raise fail(ValueError(f"cutoff '{cutoff}' is not a time HH:MM")) from None
    try:
        due = calendar.due(at, days, pauses, cutoff=limit)
    except WorkflowError as error:
        raise fail(error) from None
    print(due.isoformat())


@calendar_app.command("working-time")
def calendar_working_time(
    start: Annotated[str, typer.Option(help="ISO 8601 instant with offset.")],
    end: Annotated[str, typer.Option(help="ISO 8601 instant with offset.")],
) -> None:
    """Print the working hours between two instants."""
    calendar = current_calendar()
    hours = calendar.working_time(parse_instant(start, "start"), parse_instant(end, "end"))
    print(f"{hours / dt.timedelta(hours=1):g}")


@calendar_app.command("days")
def calendar_days(
    year: Annotated[int, typer.Option(help="The year to list.")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """Days off and make-up working days of a year, with their source."""
    calendar = current_calendar()
    try:
        days = calendar.days(year)
    except WorkflowError as error:
        raise fail(error) from None
    if fmt is Format.JSON:
        rows = [
            {"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name, "source": d.source}
            for d in days
        ]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"{year}: days off and make-up working days", title_justify="left")
    for column in ("date", "weekday", "kind", "name", "source"):
        table.add_column(column)
    for d in days:
        table.add_row(d.day.isoformat(), d.day.strftime("%a"), d.kind.value, d.name, d.source)
    out.print(table)
