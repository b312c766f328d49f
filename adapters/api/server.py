"""Running the API: uvicorn, plus (embedded) every agency's routing in a thread, and the SLA
alert scheduler in another when alerts are configured; the demo principals of ``make run``;
log redaction.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from adapters.alerts.scheduler import open_alerts
from adapters.api.app import create_app
from adapters.bootstrap import App, Settings, bootstrap, open_routing
from adapters.store.principals import Role, create_principal, list_principals

log = logging.getLogger(__name__)

_SECRETS = re.compile(r"lt_[0-9a-f]{12}_[A-Za-z0-9_\-]+|(?<!\d)(\d{12}|\d{9})(?!\d)")


class Redact(logging.Filter):
    """Blanks API tokens and 9- or 12-digit identity numbers in every log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _SECRETS.sub("[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


#: HTTP clients whose INFO lines name every URL they call: the alert hooks' URLs may carry a
#: receiver's secret (a token in the query), so only their warnings are printed.
QUIET_CLIENTS = ("httpx", "httpcore")


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with :class:`Redact` on every handler, our own loggers (the root)
    printed through the same handler, and the HTTP clients' request lines left out."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": Redact}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"][""] = {"handlers": ["default"], "level": "INFO"}
    for name in QUIET_CLIENTS:
        config["loggers"][name] = {"level": "WARNING"}
    return config


def bus_check(url: str) -> str:
    """'ok' if the broker at ``url`` answers, else what is wrong (for ``/health``)."""
    from kombu.connection import Connection  # noqa: PLC0415

    from adapters.bus.sqltransport import register  # noqa: PLC0415

    register()
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # any failure to connect is "unreachable"
        return f"unreachable: {type(error).__name__}"
    return "ok"


DEMO_ROLES = (
    ("officer", "000.01.71.H26"),  # the ward's one-stop counter: receives most procedures
    ("officer", "000.00.71.H26"),  # the ward people's committee
    ("officer", "000.09.71.H26"),  # police
    ("officer", "000.08.71.H26"),  # social insurance
    ("supervisor", "000.00.71.H26"),
    ("planner", "000.00.00.H26"),
    ("admin", "000.00.00.H26"),
)


def demo_principals(app: App) -> list[dict[str, str]]:
    """The demo principals of ``make run``: created once, their tokens kept in
    ``var/demo-tokens.json`` (mode 0600) so that each run can print them."""
    path = Path(app.settings.var_dir) / "demo-tokens.json"
    if path.exists():
        found: list[dict[str, str]] = json.loads(path.read_text())
        stored = {p.id for p, _, revoked in list_principals(app.store.engine) if revoked is None}
        if all(p["id"] in stored for p in found):
            return found  # else the store was replaced: make them again
    now = app.engine.clock.now()
    made = []
    for role, agency in DEMO_ROLES:
        principal, token = create_principal(
            app.store.engine, name=f"demo {role} {agency}", agency=agency, role=Role(role), now=now
        )
        made.append({"role": role, "agency": agency, "id": principal.id, "token": token})
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(made, file, indent=2)
    return made


def app_from_env() -> FastAPI:
    """The API built from the ``LIENTHONG_*`` settings: each uvicorn worker process calls
    this (``--workers``)."""
    app = bootstrap(Settings.from_env())
    broker = app.settings.bus_url
    return create_app(app, bus_check=lambda: bus_check(broker))


def serve(
    app: App,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    routing: bool = True,
    workers: int = 1,
    alerts: bool = True,
) -> None:
    """Serve the API until interrupted; with ``routing``, every agency's relay and consumer
    run in a thread of this process (embedded mode); with ``alerts``, the alert scheduler
    does too when an alerts file is configured. With ``workers`` > 1, that many worker
    processes serve the API (each builds it from the settings) and this one supervises."""
    stop = threading.Event()
    worker = alerting = None
    scheduler = open_alerts(app) if alerts else None  # a bad alerts file stops us here
    routes = open_routing(app) if routing else None
    if routes is not None:
        worker = threading.Thread(target=routes.run, args=(stop,), name="routing", daemon=True)
        worker.start()
    if scheduler is not None:
        alerting = threading.Thread(target=scheduler.run, args=(stop,), name="alerts", daemon=True)
        alerting.start()
    try:
        if workers > 1:
            uvicorn.run(
                "adapters.api.server:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_config=log_config(),
            )
        else:
            broker = app.settings.bus_url
            api = create_app(app, bus_check=lambda: bus_check(broker))
            config = uvicorn.Config(api, host=host, port=port, log_config=log_config())
            uvicorn.Server(config).run()
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        if alerting is not None:
            alerting.join(timeout=10)
        if routes is not None:
            with contextlib.suppress(Exception):
                routes.bus.close()
