"""The composition root: settings from the environment, and the application built from them.

Nothing here runs at import time; :func:`bootstrap` does the wiring when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.clock import SystemClock
from adapters.store.database import current_revision
from adapters.store.pii import Keyring, load_secret
from adapters.store.sla_board import backfill_step_clocks
from adapters.store.store import SqlStore
from procedures import CATALOGUE_DIR, DEFAULT_AGENCIES, load_agencies, load_catalogue
from procedures.calendar_file import DEFAULT_CALENDAR, load_calendar
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine
from workflow.errors import StoreUnavailable
from workflow.ports import Clock
from workflow.sla import SlaPolicy

if TYPE_CHECKING:
    from adapters.bus.routing import Routing


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the engine finds its data and its database. Every field has an embedded default."""

    procedures_dir: Path = CATALOGUE_DIR
    agencies_file: Path = DEFAULT_AGENCIES
    calendar_file: Path = DEFAULT_CALENDAR
    var_dir: Path = Path("var")
    database_url: str | None = None
    secret_key: str | None = None
    risk_share: float = 0.2
    broker_url: str | None = None
    keys_dir: Path | None = None
    alerts_file: Path | None = None
    alert_interval: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``LIENTHONG_*`` environment variables, defaults for the rest."""
        env = os.environ if env is None else env
        var_dir = Path(env.get("LIENTHONG_VAR_DIR", "var"))
        return cls(
            procedures_dir=Path(env.get("LIENTHONG_PROCEDURES_DIR", str(CATALOGUE_DIR))),
            agencies_file=Path(env.get("LIENTHONG_AGENCIES_FILE", str(DEFAULT_AGENCIES))),
            calendar_file=Path(env.get("LIENTHONG_CALENDAR_FILE", str(DEFAULT_CALENDAR))),
            var_dir=var_dir,
            database_url=env.get("LIENTHONG_DATABASE_URL") or None,
            secret_key=env.get("LIENTHONG_SECRET_KEY") or None,
            risk_share=float(env.get("LIENTHONG_RISK_SHARE", "0.2")),
            broker_url=env.get("LIENTHONG_BROKER_URL") or None,
            keys_dir=Path(env["LIENTHONG_KEYS_DIR"]) if env.get("LIENTHONG_KEYS_DIR") else None,
            alerts_file=_alerts_file(env, var_dir),
            alert_interval=float(env.get("LIENTHONG_ALERT_INTERVAL", "60")),
        )

    @property
    def embedded(self) -> bool:
        """True when no database URL is given: SQLite under ``var_dir``."""
        return self.database_url is None

    @property
    def url(self) -> str:
        """The database URL in use."""
        return self.database_url or f"sqlite:///{self.var_dir / 'lienthong.sqlite3'}"

    @property
    def bus_url(self) -> str:
        """The queue transport in use: RabbitMQ by URL, or the durable embedded transport."""
        return self.broker_url or f"lienthong+sqlite:///{self.var_dir / 'bus.sqlite3'}"

    @property
    def key_folder(self) -> Path:
        """Where the agencies' signing keys and public keys are."""
        return self.keys_dir or self.var_dir / "keys"


def _alerts_file(env: Mapping[str, str], var_dir: Path) -> Path | None:
    """``LIENTHONG_ALERTS_FILE``, else ``alerts.yaml`` in the var folder if there is one."""
    if env.get("LIENTHONG_ALERTS_FILE"):
        return Path(env["LIENTHONG_ALERTS_FILE"])
    default = var_dir / "alerts.yaml"
    return default if default.is_file() else None


@dataclass(frozen=True, slots=True)
class App:
    """The wired application."""

    settings: Settings
    catalogue: Catalogue
    calendar: WorkingCalendar
    engine: Engine
    store: SqlStore


def load(settings: Settings) -> Catalogue:
    """The checked catalogue named by ``settings`` (all of it, or a DefinitionError)."""
    agencies = load_agencies(settings.agencies_file)
    return load_catalogue(settings.procedures_dir, agencies)


def open_store(settings: Settings) -> SqlStore:
    """The store named by ``settings`` (nothing connects yet)."""
    secret = load_secret(settings.secret_key, settings.var_dir / "secret.key")
    return SqlStore(settings.url, Keyring(secret))


def bootstrap(settings: Settings | None = None, clock: Clock | None = None) -> App:
    """Build the application. Embedded: create and migrate the SQLite file under ``var/``.

    With ``LIENTHONG_DATABASE_URL`` the schema must already be current (``lienthong db
    upgrade``); either way the catalogue is synchronised into the store.
    """
    settings = settings or Settings.from_env()
    catalogue = load(settings)
    calendar = load_calendar(settings.calendar_file)
    clock = clock or SystemClock()
    store = open_store(settings)
    if settings.embedded:
        store.upgrade()
    elif current_revision(store.engine) is None:
        raise StoreUnavailable(
            "the database has no lienthong schema yet: run `lienthong db upgrade` first"
        )
    store.sync(catalogue, clock.now())
    engine = Engine(catalogue, clock, calendar, SlaPolicy(risk_share=settings.risk_share))
    backfill_step_clocks(store, engine)  # dossiers stored before the engine kept step clocks
    return App(settings, catalogue, calendar, engine, store)


def open_routing(app: App, agencies: list[str] | None = None) -> Routing:
    """Relay and receiver of ``agencies`` (all, if ``None``) on the configured queues. On the
    embedded queue (one machine) with the default key folder, missing agency keys are created;
    otherwise they must be in the key folder."""
    from adapters.bus.kombu_bus import KombuBus  # noqa: PLC0415 (only workers need kombu)
    from adapters.bus.routing import Routing  # noqa: PLC0415

    settings = app.settings
    bus = KombuBus(settings.bus_url)
    return Routing(
        app.store,
        app.engine,
        bus,
        settings.key_folder,
        agencies,
        create_keys=settings.broker_url is None and settings.keys_dir is None,
    )
