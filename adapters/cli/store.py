"""Commands on the store: migrations, the SQLite file's page size, and the audit of the control
sheet."""

from __future__ import annotations

import typer

from adapters.bootstrap import Settings, load, open_store
from adapters.cli.common import (
    err,
    fail,
    out,
)
from adapters.clock import SystemClock
from adapters.store import pages
from adapters.store.database import SQLITE_PAGE_SIZE, current_revision
from workflow.errors import WorkflowError

db_app = typer.Typer(
    help="The database: schema migrations, an SQLite file's page size.", no_args_is_help=True
)
audit_app = typer.Typer(help="Tamper-evidence of the control sheet.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the database, then store the catalogue's versions."""
    settings = Settings.from_env()
    try:
        catalogue = load(settings)
        store = open_store(settings)
        try:
            store.upgrade()
            report = store.sync(catalogue, SystemClock().now())
            revision = current_revision(store.engine)
        finally:
            store.close()
    except WorkflowError as error:
        raise fail(error) from None
    out.print(
        f"{store!r} at revision {revision}; {report.new_versions} new procedure versions "
        f"frozen ({report.known_versions} already), {report.agencies} agencies"
    )


@db_app.command("page-size")
def db_page_size(
    size: int | None = typer.Argument(
        None, help="Rewrite the file with pages of this many bytes (a power of two, 512-65536)."
    ),
) -> None:
    """Show the SQLite store file's page size, or rewrite the file at SIZE (VACUUM).

    A new file gets 2048-byte pages; a file made before keeps its own until rewritten. Stop
    everything that uses the store first: the rewrite needs the only connection to the file.
    """
    try:
        path = pages.sqlite_file(Settings.from_env().url)
        if size is None:
            current = pages.page_size(path)
            out.print(
                f"{path}: {current}-byte pages (new files get {SQLITE_PAGE_SIZE}; "
                f"`lienthong db page-size {SQLITE_PAGE_SIZE}` rewrites this one)"
                if current != SQLITE_PAGE_SIZE
                else f"{path}: {current}-byte pages, as new files get"
            )
            return
        report = pages.convert(path, size)
    except WorkflowError as error:
        raise fail(error) from None
    if not report.changed:
        out.print(f"{path}: already {report.after}-byte pages; nothing to do")
        return
    out.print(
        f"{path}: rewritten from {report.before}- to {report.after}-byte pages "
        f"({report.bytes_before:,} to {report.bytes_after:,} bytes), integrity check ok"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of every dossier's control sheet; exit 1 at the first broken link."""
    try:
        store = open_store(Settings.from_env())
        try:
            report = store.verify()
        finally:
            store.close()
    except WorkflowError as error:
        raise fail(error) from None
    if report.broken is not None:
        err.print(f"broken link: {report.broken}", style="bold red", highlight=False)
        err.print(f"checked {report.dossiers} dossiers and {report.events} events up to it")
        raise typer.Exit(1)
    out.print(f"chain intact: {report.dossiers} dossiers, {report.events} events")
