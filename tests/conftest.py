"""Shared fixtures: the real catalogue, a fixed clock, actors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from procedures import load_agencies, load_catalogue
from workflow.agencies import AgencyDirectory
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.ports import Clock

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class FixedClock(Clock):
    """A clock that says what the test tells it, and moves only when told."""

    def __init__(self, now: dt.datetime) -> None:
        self.instant = now

    def now(self) -> dt.datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        self.instant += dt.timedelta(**delta)

    def set(self, instant: dt.datetime) -> None:
        self.instant = instant


@pytest.fixture(scope="session")
def agencies() -> AgencyDirectory:
    return load_agencies()


@pytest.fixture(scope="session")
def catalogue(agencies: AgencyDirectory) -> Catalogue:
    return load_catalogue(agencies=agencies)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN))


@pytest.fixture
def engine(catalogue: Catalogue, clock: FixedClock) -> Engine:
    return Engine(catalogue, clock)


@pytest.fixture
def officer() -> Actor:
    return Actor(principal="officer-1", agency="000.00.71.H26", role="officer")
