"""The ``lienthong`` command line. Commands only translate arguments into calls on the core."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import Settings, bootstrap, load, open_store
from adapters.clock import SystemClock
from adapters.store.database import current_revision
from procedures import load_agencies
from procedures.calendar_file import load_calendar
from procedures.loader import catalogue_files, validate_files
from procedures.schema import json_schema
from workflow.calendar import Pause, WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.definition import ProcedureDefinition
from workflow.diagram import mermaid
from workflow.errors import DefinitionError, WorkflowError

app = typer.Typer(
    help="lienthong: Vietnamese administrative procedures as declarative state machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
procedures_app = typer.Typer(help="The procedure catalogue.", no_args_is_help=True)
agencies_app = typer.Typer(help="The agency directory.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar and due instants.", no_args_is_help=True)
db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper-evidence of the control sheet.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(procedures_app, name="procedures")
app.add_typer(agencies_app, name="agencies")
app.add_typer(calendar_app, name="calendar")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


def _fail(error: Exception, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error}", markup=True, highlight=False)
    return typer.Exit(code)


def _catalogue() -> Catalogue:
    try:
        return load(Settings.from_env())
    except WorkflowError as error:
        raise _fail(error) from None


def _definition(code: str, version: str | None) -> ProcedureDefinition:
    """The named version, or the one in force today."""
    try:
        return _catalogue().get(code, version=version, on=None if version else dt.date.today())
    except WorkflowError as error:
        raise _fail(error) from None


def _limit(d: ProcedureDefinition) -> str:
    text = "same day" if d.limit_days == 0 else f"{d.limit_days:g} d"
    if d.extended_limit_days is not None:
        text += f" (≤{d.extended_limit_days:g} d)"
    return text


def _procedures_table(definitions: list[ProcedureDefinition], title: str) -> Table:
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
            _limit(d),
            str(len(d.steps)),
            "\n".join(d.agencies),
        )
    return table


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
    catalogue = _catalogue()
    day = at.date() if at else dt.date.today()
    if all_versions:
        rows = [v for code in catalogue.codes() for v in catalogue.versions(code)]
        title = f"{len(rows)} procedure versions"
    else:
        rows = catalogue.current(on=day)
        title = f"{len(rows)} procedures in force on {day}"
    out.print(_procedures_table(rows, title))


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
    d = _definition(code, version)
    if fmt is Format.JSON:
        out.print_json(json.dumps(d.model_dump(mode="json"), ensure_ascii=False))
        return
    out.print(f"[bold]{d.code}@{d.version}[/]  {d.name.en} / {d.name.vi}")
    out.print(
        f"in force from {d.effective_from}; limit {_limit(d)}; channels: "
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
        raise _fail(error) from None
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
    d = _definition(code, version)
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
        raise _fail(error) from None
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


def _calendar() -> WorkingCalendar:
    try:
        return load_calendar(Settings.from_env().calendar_file)
    except WorkflowError as error:
        raise _fail(error) from None


def _instant(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            ValueError(f"{what} '{text}' is not an ISO 8601 instant, e.g. 2026-02-13T09:00+07:00")
        ) from None
    if value.tzinfo is None:
        raise _fail(ValueError(f"{what} '{text}' has no UTC offset; add one, e.g. {text}+07:00"))
    return value


def _pause(text: str) -> Pause:
    start, sep, end = text.partition("/")
    if not sep:
        raise _fail(ValueError(f"pause '{text}' must be START/END, two ISO 8601 instants"))
    return Pause(_instant(start, "pause start"), _instant(end, "pause end"))


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
    calendar = _calendar()
    at = _instant(start, "start")
    pauses = [_pause(p) for p in pause or []]
    limit: dt.time | None = None
    if cutoff is not None:
        try:
            limit = dt.time.fromisoformat(cutoff)
        except ValueError:
            raise _fail(ValueError(f"cutoff '{cutoff}' is not a time HH:MM")) from None
    try:
        due = calendar.due(at, days, pauses, cutoff=limit)
    except WorkflowError as error:
        raise _fail(error) from None
    print(due.isoformat())


@calendar_app.command("working-time")
def calendar_working_time(
    start: Annotated[str, typer.Option(help="ISO 8601 instant with offset.")],
    end: Annotated[str, typer.Option(help="ISO 8601 instant with offset.")],
) -> None:
    """Print the working hours between two instants."""
    calendar = _calendar()
    hours = calendar.working_time(_instant(start, "start"), _instant(end, "end"))
    print(f"{hours / dt.timedelta(hours=1):g}")


@calendar_app.command("days")
def calendar_days(
    year: Annotated[int, typer.Option(help="The year to list.")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """Days off and make-up working days of a year, with their source."""
    calendar = _calendar()
    try:
        days = calendar.days(year)
    except WorkflowError as error:
        raise _fail(error) from None
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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the database, then store the catalogue's versions."""
    settings = Settings.from_env()
    try:
        catalogue = load(settings)
        store = open_store(settings)
        store.upgrade()
        report = store.sync(catalogue, SystemClock().now())
        revision = current_revision(store.engine)
    except WorkflowError as error:
        raise _fail(error) from None
    out.print(
        f"{store!r} at revision {revision}; {report.new_versions} new procedure versions "
        f"frozen ({report.known_versions} already), {report.agencies} agencies"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of every dossier's control sheet; exit 1 at the first broken link."""
    try:
        report = open_store(Settings.from_env()).verify()
    except WorkflowError as error:
        raise _fail(error) from None
    if report.broken is not None:
        err.print(f"broken link: {report.broken}", style="bold red", highlight=False)
        err.print(f"checked {report.dossiers} dossiers and {report.events} events up to it")
        raise typer.Exit(1)
    out.print(f"chain intact: {report.dossiers} dossiers, {report.events} events")


@app.command("run")
def run() -> None:
    """The engine's main job on embedded defaults: for now, the store and catalogue report."""
    try:
        application = bootstrap()
        dossiers = application.store.count_dossiers()
    except WorkflowError as error:
        raise _fail(error) from None
    catalogue = application.catalogue
    today = dt.date.today()
    versions = sum(len(catalogue.versions(code)) for code in catalogue.codes())
    out.print(
        f"[bold green]lienthong[/]: catalogue loaded and checked: {len(catalogue.codes())} "
        f"procedures, {versions} versions, {len(catalogue.agencies)} agencies"
    )
    out.print(f"store: {application.store!r}, schema current, {dossiers} dossiers")
    out.print(_procedures_table(catalogue.current(on=today), f"Procedures in force on {today}"))


def main() -> None:
    """Console-script entry point."""
    app()
