"""Commands of inter-agency routing: workers, the embedded consumers, the reorganisation
hand-off, and the messages a supervisor must chase."""

from __future__ import annotations

import typer
from rich.table import Table

from adapters.bootstrap import App, bootstrap, open_routing
from adapters.bus.routing import Routing
from adapters.cli.common import fail, out, stop_on_signals
from adapters.store.routing_queries import open_dossiers_at, undeliverable
from workflow.dossier import Actor
from workflow.errors import WorkflowError
from workflow.services import retrying, transfer

messages_app = typer.Typer(help="Inter-agency messages a supervisor must chase.")


def _run(routing: Routing, once: bool, idle: float) -> None:
    routing.declare()
    if once:
        report = routing.step(idle=idle)
        out.print(
            f"published {report.relayed.published}, failed {report.relayed.failed}, "
            f"undeliverable {report.relayed.undeliverable}; handled {report.handled}"
        )
        return
    out.print(
        f"consuming {', '.join(routing.queues)} on {routing.bus.connection.as_uri()}; Ctrl-C stops"
    )
    routing.run(stop_on_signals(), idle=idle)
    out.print("stopped")


def worker(
    agency: str = typer.Option(..., "--agency", help="the agency code whose queue to consume"),
    once: bool = typer.Option(False, "--once", help="one pass: publish, consume, then exit"),
    idle: float = typer.Option(1.0, help="seconds to wait for a message before relaying again"),
) -> None:
    """Consume one agency's queue (and its predecessors'), and publish its outbox."""
    try:
        routing = open_routing(bootstrap(), [agency])
        _run(routing, once, idle)
    except WorkflowError as error:
        raise fail(error) from None


def run_routing(app: App, *, once: bool, idle: float) -> None:
    """Every agency's relay and consumer in this process (embedded mode)."""
    try:
        _run(open_routing(app), once, idle)
    except WorkflowError as error:
        raise fail(error) from None


def reorganise() -> None:
    """Hand the open dossiers of every agency replaced by today to its successor."""
    try:
        app = bootstrap()
        now = app.engine.clock.now()
        day = now.astimezone(app.calendar.tz).date()
        directory = app.catalogue.agencies
        replaced = [a.code for a in directory if a.successor and not a.in_force(day)]
        moved = 0
        for code, agency in open_dossiers_at(app.store.engine, replaced):
            actor = Actor("reorganisation", directory.successor_on(agency, day).code, "system")
            moved += _transfer(app, code, actor)
    except WorkflowError as error:
        raise fail(error) from None
    out.print(
        f"{moved} open dossiers handed to successors ({len(replaced)} agencies replaced by "
        f"{day}); the workers deliver their hand-over messages"
    )


def _transfer(app: App, code: str, actor: Actor) -> bool:
    def once() -> bool:
        return transfer(code, actor, app.store.unit_of_work(), app.engine) is not None

    return retrying(once)


@messages_app.command("undeliverable")
def messages_undeliverable(
    agency: str | None = typer.Option(None, help="only messages sent by this agency"),
) -> None:
    """Hand-overs no receipt came back for after every attempt."""
    try:
        app = bootstrap()
        found = undeliverable(app.store.engine, agency)
    except WorkflowError as error:
        raise fail(error) from None
    table = Table(title=f"Undeliverable messages: {len(found)}", title_justify="left")
    for column in ("dossier", "service", "from", "to", "attempts", "since"):
        table.add_column(column)
    for m in found:
        table.add_row(
            m.dossier_code,
            m.service,
            m.from_agency,
            m.to_agency,
            str(m.attempts),
            m.undeliverable_at.isoformat(timespec="seconds"),
        )
    out.print(table)
