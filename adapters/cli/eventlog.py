"""Commands on event logs: import an external log into the store, export the engine's own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adapters.bootstrap import App, bootstrap
from adapters.cli.common import fail, out
from adapters.cli.metrics import show_log_metrics
from adapters.eventlog import LogFormat, load_mapping
from adapters.eventlog.importer import import_log as import_log_file
from adapters.eventlog.writer import export_history
from adapters.store.event_logs import StoredLog
from workflow.errors import WorkflowError
from workflow.history import EventLog, from_us


def _bootstrap() -> App:
    try:
        return bootstrap()
    except WorkflowError as error:
        raise fail(error) from None


def import_log(
    path: Annotated[Path, typer.Argument(help="the log: .csv, .xes, or either with .gz")],
    format: Annotated[
        LogFormat | None,
        typer.Option("--format", help="csv or xes (default: from the file's extension)"),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="a YAML file naming the columns: {case: ..., ...}"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="the log's name (default: the file's stem)")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite a stored log of the same name")
    ] = False,
) -> None:
    """Import an event log (CSV or XES) into the store: all of it, or nothing."""
    app = _bootstrap()
    try:
        stored, log = import_log_file(
            app.store.engine,
            path,
            now=app.engine.clock.now(),
            format=format,
            mapping=load_mapping(mapping),
            name=name,
            replace=replace,
        )
    except WorkflowError as error:
        raise fail(error) from None
    out.print(summary(stored, log))
    show_log_metrics(stored.name)


def summary(stored: StoredLog, log: EventLog) -> Table:
    """What was imported: cases, events, activities, first and last instant."""
    table = Table(
        title=f"event log {stored.name!r} from {stored.source}",
        title_justify="left",
        show_header=False,
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    first, last = from_us(int(log.at.min())), from_us(int(log.at.max()))
    for label, value in (
        ("cases", f"{stored.cases:,}"),
        ("events", f"{stored.events:,}"),
        ("activities", f"{len(log.activity.names):,}"),
        ("first event", f"{first:%Y-%m-%d %H:%M:%S} UTC"),
        ("last event", f"{last:%Y-%m-%d %H:%M:%S} UTC"),
    ):
        table.add_row(label, value)
    return table


def export(
    format: Annotated[LogFormat, typer.Argument(help="xes or csv")],
    path: Annotated[Path, typer.Argument(help="the file to write (.gz: compressed)")],
) -> None:
    """Export every dossier's control sheet as an event log (XES or CSV) for process mining."""
    app = _bootstrap()
    try:
        written = export_history(app.store.engine, path, format)
    except WorkflowError as error:
        raise fail(error) from None
    except OSError as error:
        raise fail(
            OSError(f"cannot write {path}: {error.strerror}; check that its folder exists")
        ) from None
    out.print(
        f"wrote {written.cases:,} dossiers and {written.events:,} control-sheet rows to {path} "
        f"({written.format.value})"
    )
