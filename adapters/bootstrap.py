"""The composition root: settings from the environment, and the engine built from them.

Nothing here runs at import time; :func:`bootstrap` does the wiring when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.clock import SystemClock
from procedures import CATALOGUE_DIR, DEFAULT_AGENCIES, load_agencies, load_catalogue
from procedures.calendar_file import DEFAULT_CALENDAR, load_calendar
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine
from workflow.ports import Clock


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the engine finds its data. Every field has an embedded default."""

    procedures_dir: Path = CATALOGUE_DIR
    agencies_file: Path = DEFAULT_AGENCIES
    calendar_file: Path = DEFAULT_CALENDAR

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``LIENTHONG_*`` environment variables, defaults for the rest."""
        env = os.environ if env is None else env
        return cls(
            procedures_dir=Path(env.get("LIENTHONG_PROCEDURES_DIR", str(CATALOGUE_DIR))),
            agencies_file=Path(env.get("LIENTHONG_AGENCIES_FILE", str(DEFAULT_AGENCIES))),
            calendar_file=Path(env.get("LIENTHONG_CALENDAR_FILE", str(DEFAULT_CALENDAR))),
        )


@dataclass(frozen=True, slots=True)
class App:
    """The wired engine and what it was built from."""

    settings: Settings
    catalogue: Catalogue
    calendar: WorkingCalendar
    engine: Engine


def load(settings: Settings) -> Catalogue:
    """The checked catalogue named by ``settings`` (all of it, or a DefinitionError)."""
    agencies = load_agencies(settings.agencies_file)
    return load_catalogue(settings.procedures_dir, agencies)


def bootstrap(settings: Settings | None = None, clock: Clock | None = None) -> App:
    """Build the application from settings (default: the environment)."""
    settings = settings or Settings.from_env()
    catalogue = load(settings)
    calendar = load_calendar(settings.calendar_file)
    engine = Engine(catalogue, clock or SystemClock(), calendar)
    return App(settings=settings, catalogue=catalogue, calendar=calendar, engine=engine)
