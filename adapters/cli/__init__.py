"""The ``lienthong`` command line. Commands only translate arguments into calls on the core."""

from __future__ import annotations

import typer

from adapters.cli.api import run, serve, submit, tokens_app
from adapters.cli.calendar import calendar_app
from adapters.cli.catalogue import agencies_app, procedures_app
from adapters.cli.demo import demo
from adapters.cli.eventlog import export, import_log
from adapters.cli.forms import form
from adapters.cli.metrics import metrics, scorecard
from adapters.cli.routing import messages_app, reorganise, worker
from adapters.cli.simulate import simulate_app
from adapters.cli.sla import sla_app
from adapters.cli.store import audit_app, db_app

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
app.add_typer(tokens_app, name="tokens")
app.add_typer(sla_app, name="sla")
app.add_typer(simulate_app, name="simulate")
app.command("worker")(worker)
app.command("serve")(serve)
app.command("reorganise")(reorganise)
app.command("submit")(submit)
app.command("run")(run)
app.command("import-log")(import_log)
app.command("export")(export)
app.command("metrics")(metrics)
app.command("scorecard")(scorecard)
app.command("form")(form)
app.command("demo")(demo)


def main() -> None:
    """Console-script entry point."""
    app()
