"""Commands on the procedure catalogue and the agency directory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adapters.bootstrap import Settings
from adapters.cli.common import (
    Format,
    current_catalogue,
    definition_of,
    err,
    fail,
    limit_text,
    out,
    procedures_table,
)
from procedures import load_agencies
from procedures.loader import catalogue_files, validate_files
from procedures.schema import json_schema
from workflow.diagram import mermaid
from workflow.errors import DefinitionError, WorkflowError

procedures_app = typer.Typer(help="The procedure catalogue.", no_args_is_help=True)
agencies_app = typer.Typer(help="The agency directory.", no_args_is_help=True)


@procedures_app.command("list")
def procedures_list(
    at: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Versions in force on this date (default: today)."),
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Every version, not one per code.")
    ] = False,
) -> None:
    """A table of code, name, limit, steps and agencies."""
    catalogue = current_catalogue()
    day = at.date() if at else dt.date.today()
    if all_versions:
        rows = [v for code in catalogue.codes() for v in catalogue.versions(code)]
        title = f"{len(rows)} procedure versions"
    else:
        rows = catalogue.current(on=day)
        title = f"{len(rows)} procedures in force on {day}"
    out.print(procedures_table(rows, title))


@procedures_app.command("show")
def procedures_show(
    code: str,
    version: Annotated[
        str | None, typer.Option(help="A version (default: in force today).")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="text, or json for tooling.")
    ] = Format.TEXT,
) -> None:
    """The definition of one procedure version."""
    d = definition_of(code, version)
    if fmt is Format.JSON:
        out.print_json(json.dumps(d.model_dump(mode="json"), ensure_ascii=False))
        return
    out.print(f"[bold]{d.code}@{d.version}[/]  {d.name.en} / {d.name.vi}")
    out.print(
        f"in force from {d.effective_from}; limit {limit_text(d)}; channels: "
        + ", ".join(c.value for c in d.channels)
    )
    out.print("legal basis: " + "; ".join(d.legal_basis))
    steps = Table(title="steps", title_justify="left")
    for column in ("step", "agency", "role", "share (working days)"):
        steps.add_column(column)
    for s in d.steps:
        steps.add_row(f"{s.id}\n[dim]{s.name.en}[/]", s.agency, s.role, f"{s.share_days:g}")
    out.print(steps)
    states = Table(title="states", title_justify="left")
    for column in ("state", "status", "step", "final"):
        states.add_column(column)
    for st in d.states:
        states.add_row(
            st.name,
            f"{int(st.status)} {st.status.name.lower()}",
            st.step or "",
            "yes" if st.final else "",
        )
    out.print(states)
    moves = Table(title="transitions", title_justify="left")
    for column in ("trigger", "from", "to", "guards", "actions"):
        moves.add_column(column)
    for t in d.transitions:
        moves.add_row(
            t.trigger, ", ".join(t.source), t.dest, ", ".join(t.guards), ", ".join(t.actions)
        )
    out.print(moves)


@procedures_app.command("validate")
def procedures_validate(
    paths: Annotated[list[Path], typer.Argument(help="Procedure files or folders of them.")],
    agencies_file: Annotated[
        Path | None, typer.Option("--agencies", help="Agency directory (default: the catalogue's).")
    ] = None,
) -> None:
    """Check procedure files; exit 1 listing file, field and reason for each problem."""
    settings = Settings.from_env()
    try:
        agencies = load_agencies(agencies_file or settings.agencies_file)
    except WorkflowError as error:
        raise fail(error) from None
    files: list[Path] = []
    for path in paths:
        files += catalogue_files(path) if path.is_dir() else [path]
    definitions, problems = validate_files(files, agencies)
    for problem in problems:
        err.print(str(problem), markup=False, highlight=False)
    if problems:
        err.print(f"{len(problems)} problem(s) in {len(files)} file(s)", style="bold red")
        raise typer.Exit(1)
    out.print(
        f"{len(files)} file(s) valid: " + ", ".join(f"{d.code}@{d.version}" for d in definitions)
    )


@procedures_app.command("diagram")
def procedures_diagram(
    code: str,
    version: Annotated[
        str | None, typer.Option(help="A version (default: in force today).")
    ] = None,
) -> None:
    """A Mermaid state diagram of the procedure."""
    d = definition_of(code, version)
    print(mermaid(d), end="")


@procedures_app.command("schema")
def procedures_schema() -> None:
    """The JSON Schema of a procedure file (for editors and tooling)."""
    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@agencies_app.command("list")
def agencies_list(
    at: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The directory as it stood on this date."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """The agency directory as it stood on a date (default: today)."""
    settings = Settings.from_env()
    try:
        directory = load_agencies(settings.agencies_file)
    except DefinitionError as error:
        raise fail(error) from None
    day = at.date() if at else dt.date.today()
    agencies = directory.on(day)
    if fmt is Format.JSON:
        out.print_json(
            json.dumps([a.model_dump(mode="json") for a in agencies], ensure_ascii=False)
        )
        return
    table = Table(title=f"{len(agencies)} agencies in force on {day}", title_justify="left")
    for column in ("code", "name", "level", "kind", "from", "to", "successor"):
        table.add_column(column, no_wrap=column == "code")
    for a in agencies:
        table.add_row(
            a.code,
            f"{a.name.en}\n[dim]{a.name.vi}[/]",
            a.level.value,
            a.kind,
            str(a.effective_from),
            str(a.effective_to or ""),
            a.successor or "",
        )
    out.print(table)
