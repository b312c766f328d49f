"""What the command modules share: consoles, formats, error exits, catalogue lookups."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
from enum import StrEnum
from types import FrameType

import typer
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import Settings, load
from workflow.catalogue import Catalogue
from workflow.definition import ProcedureDefinition
from workflow.errors import WorkflowError

#: Width of tables written to a file or a pipe. Rich would use 80 columns there and squeeze a
#: wide report's numbers into "…"; a terminal (or COLUMNS) keeps its own width.
PIPED_WIDTH = 200
_piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
out = Console(soft_wrap=True, width=PIPED_WIDTH if _piped else None)
err = Console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


def fail(error: Exception, code: int = 2) -> typer.Exit:
    """Print ``error`` for a person (no traceback) and give the exit to raise."""
    err.print(f"[bold red]error:[/] {error}", markup=True, highlight=False)
    return typer.Exit(code)


def current_catalogue() -> Catalogue:
    """The catalogue of the current settings, or a clean exit saying what is wrong."""
    try:
        return load(Settings.from_env())
    except WorkflowError as error:
        raise fail(error) from None


def definition_of(code: str, version: str | None) -> ProcedureDefinition:
    """The named version, or the one in force today."""
    try:
        return current_catalogue().get(
            code, version=version, on=None if version else dt.date.today()
        )
    except WorkflowError as error:
        raise fail(error) from None


def limit_text(d: ProcedureDefinition) -> str:
    """The limit as people say it: same day, N d, (≤M d)."""
    text = "same day" if d.limit_days == 0 else f"{d.limit_days:g} d"
    if d.extended_limit_days is not None:
        text += f" (≤{d.extended_limit_days:g} d)"
    return text


def procedures_table(definitions: list[ProcedureDefinition], title: str) -> Table:
    """A table of code, version, name, limit, steps and agencies."""
    table = Table(title=title, title_justify="left")
    for column in ("code", "version", "name", "limit", "steps", "agencies"):
        table.add_column(
            column,
            no_wrap=column in ("code", "version", "limit"),
            overflow="fold",
            min_width=13 if column == "agencies" else None,
        )
    for d in definitions:
        table.add_row(
            d.code,
            d.version,
            f"{d.name.en}\n[dim]{d.name.vi}[/]",
            limit_text(d),
            str(len(d.steps)),
            "\n".join(d.agencies),
        )
    return table


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM: long-running commands poll it to stop cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
