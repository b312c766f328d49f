"""A small, known history made through the real engine: dossiers of the linked birth +
residence + insurance procedure (2.000986) whose every step takes a chosen number of hours.

Used to check the metrics and the scorecard against figures computed another way (the SLA
clock of each dossier, counted one by one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tests.conftest import FixedClock
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.ports import UnitOfWork
from workflow.services import Act, Submit, act, submit

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
WARD = "000.00.71.H26"
OFFICER = Actor(principal="officer-1", agency=WARD, role="officer")


@dataclass(frozen=True, slots=True)
class Plan:
    """One dossier's life: received on ``day`` at 09:00, then each step's hours of clock time.
    ``supplement_hours``: a supplement asked at residence registration and supplied after that
    long; ``finish``: False leaves it open at residence registration."""

    day: dt.date
    channel: str
    hours: tuple[float, float, float, float] = (2, 4, 10, 6)
    supplement_hours: float | None = None
    finish: bool = True
    electronic: bool = True


def plans(count: int, start: dt.date = dt.date(2026, 3, 2)) -> list[Plan]:
    """A varied caseload: dossiers received on weekdays (none is a holiday in March-April
    2026) over eight weeks, some slow, some with supplements,
    some still open, two thirds online, every third result on paper."""
    found = []
    weekdays = [start + dt.timedelta(days=d) for d in range(60)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    for i in range(count):
        day = weekdays[i % 40]
        slow = 100.0 if i % 5 == 0 else 0.0
        found.append(
            Plan(
                day=day,
                channel="online" if i % 3 else "counter",
                hours=(1 + i % 3, 3 + i % 4, 8 + slow + i % 7, 5 + i % 2),
                supplement_hours=30.0 if i % 7 == 3 else None,
                finish=i % 11 != 10,
                electronic=i % 3 != 0,
            )
        )
    return found


def make_history(
    plans: list[Plan], uow: Callable[[], UnitOfWork], engine: Engine, clock: FixedClock
) -> list[str]:
    """Run every plan through the engine in time order; returns the dossier codes."""
    codes = []
    for n, plan in enumerate(sorted(plans, key=lambda p: p.day)):
        clock.set(dt.datetime(plan.day.year, plan.day.month, plan.day.day, 9, tzinfo=VN))
        command = Submit("2.000986", plan.channel, f"REF-{n}", OFFICER, documents=PAPERS)
        code = submit(command, uow(), engine).code
        codes.append(code)
        act(Act(code, "accept", OFFICER), uow(), engine)
        first, second, third, fourth = plan.hours
        clock.advance(hours=first)
        act(Act(code, "hand_over", OFFICER), uow(), engine)  # -> birth registration
        clock.advance(hours=second)
        act(Act(code, "hand_over", OFFICER), uow(), engine)  # -> residence (police)
        if plan.supplement_hours is not None:
            clock.advance(hours=1)
            act(Act(code, "request_supplement", OFFICER, note="missing page"), uow(), engine)
            clock.advance(hours=plan.supplement_hours)
            act(Act(code, "supply", OFFICER, payload={"documents": ["page"]}), uow(), engine)
        if not plan.finish:
            continue
        clock.advance(hours=third)
        act(Act(code, "hand_over", OFFICER), uow(), engine)  # -> health insurance
        clock.advance(hours=fourth)
        result = {"result": f"KQ-{n}", "electronic": plan.electronic}
        act(Act(code, "finish", OFFICER, payload=result), uow(), engine)
        clock.advance(hours=2)
        act(Act(code, "return_result", OFFICER), uow(), engine)
    return codes
