"""Commands on the store: migrations and the audit of the control sheet."""

from __future__ import annotations

import typer

from adapters.bootstrap import Settings, load, open_store
from adapters.cli.common import (
    err,
    fail,
    out,
)
from adapters.clock import SystemClock
from adapters.store.database import current_revision
from workflow.errors import WorkflowError

db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper-evidence of the control sheet.", no_args_is_help=True)


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
        raise fail(error) from None
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
        raise fail(error) from None
    if report.broken is not None:
        err.print(f"broken link: {report.broken}", style="bold red", highlight=False)
        err.print(f"checked {report.dossiers} dossiers and {report.events} events up to it")
        raise typer.Exit(1)
    out.print(f"chain intact: {report.dossiers} dossiers, {report.events} events")
