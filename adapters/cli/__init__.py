"""The ``lienthong`` command line. Commands only translate arguments into calls on the core."""

from __future__ import annotations

import datetime as dt

import typer

from adapters.bootstrap import bootstrap
from adapters.cli.calendar import calendar_app
from adapters.cli.catalogue import agencies_app, procedures_app
from adapters.cli.common import fail, out, procedures_table
from adapters.cli.routing import messages_app, reorganise, serve, worker
from adapters.cli.store import audit_app, db_app
from workflow.errors import WorkflowError

app = typer.Typer(
    help="lienthong: Vietnamese administrative procedures as declarative state machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(procedures_app, name="procedures")
app.add_typer(agencies_app, name="agencies")
app.add_typer(calendar_app, name="calendar")
app.add_typer(messages_app, name="messages")
app.command("worker")(worker)
app.command("serve")(serve)
app.command("reorganise")(reorganise)


@app.command("run")
def run() -> None:
    """The engine's main job on embedded defaults: for now, the store and catalogue report."""
    try:
        application = bootstrap()
        dossiers = application.store.count_dossiers()
    except WorkflowError as error:
        raise fail(error) from None
    catalogue = application.catalogue
    today = dt.date.today()
    versions = sum(len(catalogue.versions(code)) for code in catalogue.codes())
    out.print(
        f"[bold green]lienthong[/]: catalogue loaded and checked: {len(catalogue.codes())} "
        f"procedures, {versions} versions, {len(catalogue.agencies)} agencies"
    )
    out.print(f"store: {application.store!r}, schema current, {dossiers} dossiers")
    out.print(procedures_table(catalogue.current(on=today), f"Procedures in force on {today}"))


def main() -> None:
    """Console-script entry point."""
    app()
