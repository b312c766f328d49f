"""Commands of the back-office API: serving it, its tokens, and submitting through it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated
from urllib.parse import urlencode

import httpx
import typer
from rich.table import Table

from adapters.api.client import ApiError, Client
from adapters.bootstrap import App, bootstrap
from adapters.cli.common import fail, out
from adapters.store.dossier_queries import last_activity
from adapters.store.principals import Role, create_principal, list_principals, revoke
from workflow.errors import WorkflowError

tokens_app = typer.Typer(help="API tokens of principals (stored hashed).", no_args_is_help=True)


def _bootstrap() -> App:
    try:
        return bootstrap()
    except WorkflowError as error:
        raise fail(error) from None


@tokens_app.command("create")
def tokens_create(
    role: Annotated[Role, typer.Option("--role", help="officer, supervisor, planner or admin")],
    agency: str = typer.Option(..., "--agency", help="the principal's agency code"),
    name: str = typer.Option("", "--name", help="who or what uses the token"),
) -> None:
    """Create a principal and print its token (shown once: keep it)."""
    app = _bootstrap()
    try:
        app.catalogue.agencies.get(agency)
        principal, token = create_principal(
            app.store.engine,
            name=name or f"{role.value} {agency}",
            agency=agency,
            role=role,
            now=app.engine.clock.now(),
        )
    except WorkflowError as error:
        raise fail(error) from None
    out.print(f"principal {principal.id} ({role.value} of {agency}); its token, shown once:")
    print(token)


@tokens_app.command("list")
def tokens_list() -> None:
    """Principals, their roles and agencies (never their tokens)."""
    app = _bootstrap()
    table = Table(title="API principals", title_justify="left")
    for column in ("id", "name", "role", "agency", "created", "revoked"):
        table.add_column(column)
    for principal, created, revoked in list_principals(app.store.engine):
        table.add_row(
            principal.id,
            principal.name,
            principal.role.value,
            principal.agency,
            f"{created:%Y-%m-%d %H:%M}",
            f"{revoked:%Y-%m-%d %H:%M}" if revoked else "",
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(principal: str = typer.Argument(..., help="the principal's id")) -> None:
    """Stop a principal's token from working (within 10 seconds on running servers)."""
    app = _bootstrap()
    try:
        revoke(app.store.engine, principal, app.engine.clock.now())
    except WorkflowError as error:
        raise fail(error) from None
    out.print(f"principal {principal} revoked")


def serve(
    host: str = typer.Option("127.0.0.1", help="the address to listen on"),
    port: int = typer.Option(8000, help="the port to listen on"),
    once: bool = typer.Option(False, "--once", help="no API: one routing pass, then exit"),
    idle: float = typer.Option(0.5, help="with --once: seconds to wait for a message"),
    workers: int = typer.Option(1, min=1, max=64, help="API worker processes"),
    alerts: bool = typer.Option(
        True, "--alerts/--no-alerts", help="run the SLA alert scheduler (if configured) here"
    ),
) -> None:
    """Serve the HTTP API; in embedded mode, every agency's routing runs in-process too; so
    does the SLA alert scheduler when alerts are configured (unless --no-alerts: then run
    `lienthong sla watch` elsewhere)."""
    from adapters.api.server import serve as run_server  # noqa: PLC0415
    from adapters.cli.routing import run_routing  # noqa: PLC0415

    app = _bootstrap()
    if once:
        run_routing(app, once=True, idle=idle)
        return
    try:
        run_server(
            app,
            host=host,
            port=port,
            routing=app.settings.broker_url is None,
            workers=workers,
            alerts=alerts,
        )
    except WorkflowError as error:
        raise fail(error) from None


def submit(
    procedure: str = typer.Option(..., help="procedure code, e.g. 1.001193"),
    channel: str = typer.Option("online", help="online, counter or post"),
    applicant_ref: str = typer.Option(..., "--applicant-ref", help="the applicant's reference"),
    document: Annotated[
        list[str] | None, typer.Option("--document", help="a paper of the dossier (repeat)")
    ] = None,
    url: str = typer.Option(
        "http://127.0.0.1:8000", envvar="LIENTHONG_API_URL", help="the API's address"
    ),
    token: str = typer.Option(..., envvar="LIENTHONG_TOKEN", help="an officer's token"),
    idempotency_key: str | None = typer.Option(None, help="reuse to retry a submission safely"),
) -> None:
    """Submit a dossier through the HTTP API (as a back-office system would); prints it."""
    try:
        with Client(url, token) as api:
            dossier = api.submit(
                procedure,
                channel,
                applicant_ref=applicant_ref,
                documents=document or (),
                idempotency_key=idempotency_key,
            )
    except ApiError as error:
        raise fail(error) from None
    except httpx.TransportError as error:
        raise fail(
            ConnectionError(f"the API at {url} cannot be reached ({error}); is it running?")
        ) from None
    print(json.dumps(dossier, ensure_ascii=False, indent=2))


def dashboard_hint(app: App, base: str, now: dt.datetime | None = None) -> str:
    """Where the dashboard is; and, when the store's history ended more than a day before
    ``now`` (a demo history), a link to the board as it stood at its last row: at today's
    instant every dossier the demo left open would be long overdue."""
    hint = f"Dashboard: {base}/dashboard (log in with the supervisor's token)"
    last = last_activity(app.store.engine)
    now = now or dt.datetime.now(dt.UTC)
    if last is None or now - last < dt.timedelta(days=1):
        return hint
    local = last.astimezone(app.calendar.tz).replace(microsecond=0)
    query = urlencode({"at": local.isoformat()})
    return (
        f"{hint}\n  the history ends on {local:%d/%m/%Y %H:%M}: the board as it stood then is "
        f"{base}/dashboard?{query}"
    )


def run(
    host: str = typer.Option("127.0.0.1", help="the address to listen on"),
    port: int = typer.Option(8000, help="the port to listen on"),
    seed: bool = typer.Option(
        True, "--demo/--no-demo", help="on an empty store, first simulate a demo history"
    ),
    demo_days: int = typer.Option(90, "--demo-days", min=1, help="days of that demo history"),
    demo_per_day: float = typer.Option(
        30.0, "--demo-per-day", min=1.0, help="dossiers a working day in that demo history"
    ),
) -> None:
    """The main job on embedded defaults: the API and the routing, with demo principals. On a
    store without dossiers it first simulates 90 days of demo history (unless --no-demo)."""
    from adapters.api.server import demo_principals  # noqa: PLC0415
    from adapters.api.server import serve as run_server  # noqa: PLC0415
    from adapters.cli.demo import seed_demo  # noqa: PLC0415
    from adapters.demo import DemoPlan  # noqa: PLC0415

    app = _bootstrap()
    try:
        if seed and app.settings.broker_url is not None:
            out.print("A broker is configured: no demo history (it would publish to its queues)")
        elif seed and app.store.count_dossiers() == 0:
            out.print("An empty store: seeding it with a demo history first (--no-demo skips)")
            plan = DemoPlan(start=dt.date(2025, 5, 2), days=demo_days, per_day=demo_per_day)
            seed_demo(app, plan)
        demo = demo_principals(app)
    except WorkflowError as error:
        raise fail(error) from None
    catalogue = app.catalogue
    out.print(
        f"[bold green]lienthong[/]: {len(catalogue.codes())} procedures, "
        f"{len(catalogue.agencies)} agencies; store {app.store!r}, "
        f"{app.store.count_dossiers()} dossiers"
    )
    kept = app.settings.var_dir / "demo-tokens.json"
    out.print(f"Demo principals (their tokens are kept in {kept}):", highlight=False)
    for principal in demo:
        print(f"  {principal['role']:<11}{principal['agency']:<15}{principal['token']}")
    ward = next(p["token"] for p in demo if p["agency"] == "000.00.71.H26")
    out.print(
        f"Try it: API docs at http://{host}:{port}/docs, then\n"
        f"  curl -s -H 'Authorization: Bearer {ward}' http://{host}:{port}/api/v1/procedures\n"
        f"  LIENTHONG_TOKEN={ward} lienthong submit --procedure 2.000815 "
        f"--applicant-ref R-1 --document original --document copy"
    )
    out.print(dashboard_hint(app, f"http://{host}:{port}"), highlight=False)
    try:
        run_server(app, host=host, port=port, routing=app.settings.broker_url is None)
    except WorkflowError as error:  # a bad alerts file, say
        raise fail(error) from None
