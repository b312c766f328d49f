"""The demo: a year of the catalogue's caseload driven through the real engine on a simulated
clock, so that the dashboard, the metrics and the scorecard have a history to show.

Everything goes through what the HTTP API calls: the handlers of :mod:`workflow.services`
(``submit``, ``act``, ``apologise``, ``transfer``) with officer principals of each agency and the
API's own permission checks, the SQL store, and the embedded bus (a routing pass of every agency
at the end of each simulated day delivers the hand-overs and brings their receipts back). Only
HTTP itself is left out.

Events (arrivals, officers' actions, apologies) are processed in time order from one heap; the
clock is set to each event's instant before it is handled. Officers' work times are the
simulator's step model (:func:`workflow.simulation.model.from_definition`: each step a uniform
share of its allotted time), scaled by a per-dossier pace, with a share of dossiers whose
officers are swamped (these run late, and get an apology with a new return date before their
due date where possible). Waits for the applicant (supplements, fees) are exponential.
Everything random comes from one seeded numpy generator: the same seed on an empty store gives
the same dossiers with the same codes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import func, select

from adapters.api.auth import may_act, may_submit
from adapters.bootstrap import App, open_routing
from adapters.store import tables as t
from adapters.store.database import read_connection
from adapters.store.dossier_queries import record_rating
from adapters.store.principals import Principal, Role
from adapters.store.routing_queries import open_dossiers_at
from workflow.definition import NationalStatus, ProcedureDefinition
from workflow.dossier import Actor, ControlEvent, Dossier
from workflow.engine import Engine
from workflow.errors import CalendarError, WorkflowError
from workflow.ports import Clock
from workflow.services import Act, Submit, act, apologise, retrying, submit, transfer
from workflow.simulation.distributions import Distribution, Empirical, Exponential
from workflow.simulation.model import Arrivals, from_definition

HOUR = dt.timedelta(hours=1)
#: Relative weights of the procedures in the caseload (others weigh ``_OTHER``).
MIX = {
    "2.000815": 0.30,  # certified copies
    "1.001193": 0.16,  # birth registration
    "2.000884": 0.12,  # signature certification
    "2.000986": 0.08,  # birth + residence + health insurance
    "1.004222": 0.08,  # permanent residence
    "1.001612": 0.06,  # household business
    "1.000894": 0.05,  # marriage
    "1.000656": 0.04,  # death
}
_OTHER = 0.03
_SUPPLEMENT_WAIT = Exponential(16.0)  # working hours the applicant takes to complete a dossier
_FEE_WAIT = Exponential(4.0)  # working hours to pay a fee
_RATINGS = ("very_satisfied", "satisfied", "dissatisfied")


class DemoRefused(WorkflowError):
    """The store already holds dossiers: a demo would mix its history with theirs."""


class BadDemoPlan(WorkflowError):
    """The plan's days lie outside the working calendar, or no procedure is in force on any."""


class SimulatedClock(Clock):
    """A clock that stands where the demo puts it."""

    def __init__(self, now: dt.datetime) -> None:
        self.instant = now

    def now(self) -> dt.datetime:
        return self.instant


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """What to simulate: ``days`` from ``start``, about ``per_day`` dossiers each working day
    (a tenth of that, online, on days off), and the shares of dossiers with a supplement
    request, swamped officers (late), and a rating once returned."""

    start: dt.date = dt.date(2025, 1, 2)
    days: int = 365
    per_day: float = 300.0
    seed: int = 1
    online_share: float = 0.6
    supplement_share: float = 0.08
    slow_share: float = 0.05
    rating_share: float = 0.4
    pace: float = 0.7


@dataclass(slots=True)
class DemoSummary:
    """What the demo did."""

    days: int = 0
    submitted: int = 0
    online: int = 0
    counter: int = 0
    finished: int = 0
    returned: int = 0
    late: int = 0
    apologies: int = 0
    supplements: int = 0
    fees: int = 0
    transfers: int = 0
    ratings: int = 0
    messages_published: int = 0
    messages_acknowledged: int = 0
    open_at_end: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Case:
    """A dossier in flight and what the dice decided for it."""

    dossier: Dossier
    pace: float
    supplement_step: str | None
    electronic: bool
    supplemented: bool = False
    fee_asked: bool = False
    apology_planned: bool = False


@dataclass(order=True, slots=True)
class _Event:
    at: dt.datetime
    seq: int
    kind: str = field(compare=False)
    subject: Any = field(compare=False)


OnDay = Callable[[int, DemoSummary], None]


def run_demo(
    app: App,
    plan: DemoPlan,
    *,
    force: bool = False,
    on_day: OnDay | None = None,
    stopped: Callable[[], bool] | None = None,
) -> DemoSummary:
    """Simulate ``plan`` into ``app``'s store and bus; ``on_day(days done, summary)`` after
    each day. :class:`BadDemoPlan` if the days cannot be simulated, :class:`DemoRefused` if a
    broker is configured or the store already holds dossiers (unless ``force``); each before
    anything is written. ``stopped`` is asked after every event and every routing pass; once it
    says yes, the run raises ``KeyboardInterrupt`` there, between two units of work (an
    interrupt that Python dropped, see ``adapters.cli.demo``)."""
    check_plan(app, plan)
    check_bus(app)
    check_empty(app, force=force)
    return _Demo(app, plan).run(on_day, stopped or _never)


def _never() -> bool:
    return False


def check_bus(app: App) -> None:
    """:class:`DemoRefused` if a broker is configured: the demo plays every agency itself."""
    if app.settings.broker_url is not None:
        raise DemoRefused(
            "the demo plays every agency itself, on the embedded queue; with LIENTHONG_BROKER_URL "
            "set, its made-up hand-overs would go to the broker's agency queues, where real "
            "workers consume: unset LIENTHONG_BROKER_URL for the demo (the store may still be "
            "PostgreSQL)"
        )


#: the most dossiers a day a demo takes (Hà Nội's one-stop shops receive far fewer)
MAX_PER_DAY = 100_000
#: dossiers received on the last day run on after it: the calendar must reach this far beyond
_TAIL = dt.timedelta(days=366)


def check_plan(app: App, plan: DemoPlan) -> None:
    """:class:`BadDemoPlan` unless the working calendar covers the plan's days (and the due
    dates of dossiers received on the last one) and some procedure is in force on one of them.
    Checked up front: a calendar running out in the middle of a run would leave half a demo."""
    if plan.days < 1:
        raise BadDemoPlan(f"the demo needs at least one day; {plan.days} were asked for")
    if not 0 <= plan.per_day <= MAX_PER_DAY:
        raise BadDemoPlan(
            f"{plan.per_day:g} dossiers a day is outside 0 to {MAX_PER_DAY:,}: give a mean "
            "daily caseload within it"
        )
    last = plan.start + dt.timedelta(days=plan.days - 1)
    days = f"the demo's days ({plan.start.isoformat()} to {last.isoformat()})"
    for label, day in (("first", plan.start), ("last", last + _TAIL)):
        try:
            app.calendar.to_work(dt.datetime.combine(day, dt.time(), app.calendar.tz))
        except CalendarError as error:
            raise BadDemoPlan(
                f"{days} run outside the working calendar ({error}; the {label} day checked "
                f"was {day.isoformat()}): choose a --start and --days within its years, ending "
                "a year before its last"
            ) from None
    catalogue = app.catalogue
    earliest = min(v.effective_from for code in catalogue.codes() for v in catalogue.versions(code))
    if last < earliest:
        raise BadDemoPlan(
            f"no procedure of the catalogue is in force on {days}: the first takes effect on "
            f"{earliest.isoformat()}; give a --start on or after it"
        )


def check_empty(app: App, *, force: bool = False) -> None:
    """:class:`DemoRefused` if the store holds dossiers (unless ``force``)."""
    held = app.store.count_dossiers()
    if held and not force:
        raise DemoRefused(
            f"the store already holds {held} dossiers; a demo adds a year of made-up ones to "
            "them: use an empty store (another LIENTHONG_VAR_DIR), or pass --force to add anyway"
        )


class _Demo:
    def __init__(self, app: App, plan: DemoPlan) -> None:
        start = dt.datetime.combine(plan.start, dt.time(), app.calendar.tz)
        self.clock = SimulatedClock(start)
        engine = Engine(app.catalogue, self.clock, app.calendar, app.engine.policy)
        self.app = dataclasses.replace(app, engine=engine)
        self.engine = engine
        self.calendar = app.calendar
        self.plan = plan
        self.rng = np.random.default_rng(plan.seed)
        self.events: list[_Event] = []
        self.seq = 0
        self.cases: dict[str, _Case] = {}
        self.summary = DemoSummary()
        self.work: dict[tuple[str, str], dict[str, Distribution]] = {}

    # --- the timeline ----------------------------------------------------------------------

    def run(self, on_day: OnDay | None, stopped: Callable[[], bool]) -> DemoSummary:
        began = time.perf_counter()
        routing = open_routing(self.app)
        routing.declare()
        for n in range(self.plan.days):
            day = self.plan.start + dt.timedelta(days=n)
            self.clock.instant = dt.datetime.combine(day, dt.time(), self.calendar.tz)
            self._reorganise(day)
            self._arrivals(day)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.calendar.tz)
            while self.events and self.events[0].at < end:
                event = heapq.heappop(self.events)
                self.clock.instant = max(self.clock.instant, event.at)
                self._handle(event)
                if stopped():
                    raise KeyboardInterrupt
            self.clock.instant = end - HOUR  # the day's routing pass, after office hours
            self._route(routing)
            if stopped():
                raise KeyboardInterrupt
            self.summary.days = n + 1
            if on_day is not None:
                on_day(n + 1, self.summary)
        self.summary.messages_acknowledged = self._acknowledged()
        self.summary.open_at_end = len(self.cases)
        self.summary.seconds = time.perf_counter() - began
        return self.summary

    def _push(self, at: dt.datetime, kind: str, subject: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, _Event(at, self.seq, kind, subject))

    def _handle(self, event: _Event) -> None:
        if event.kind == "submit":
            self._submit(*event.subject)
        elif event.kind == "apologise":
            self._apologise(event.subject)
        else:
            self._act(event.subject)

    def _route(self, routing: Any) -> None:
        while True:
            report = routing.step(idle=0.0)
            self.summary.messages_published += report.relayed.published
            if not report.handled and not report.relayed.published:
                return

    def _acknowledged(self) -> int:
        o = t.outbox.c
        query = select(func.count()).where(o.acknowledged_at.is_not(None))
        with read_connection(self.app.store.engine) as connection:
            return int(connection.execute(query).scalar_one())

    # --- arrivals and the reorganisation ---------------------------------------------------

    def _arrivals(self, day: dt.date) -> None:
        working = self.calendar.is_working_day(day)
        count = int(self.rng.poisson(self.plan.per_day if working else self.plan.per_day / 10))
        offered = self._in_force(day)
        if not offered:
            return
        weights = np.array([MIX.get(d.code, _OTHER) for d in offered])
        picks = self.rng.choice(len(offered), size=count, p=weights / weights.sum())
        midnight = dt.datetime.combine(day, dt.time(), self.calendar.tz)
        for pick in picks:
            definition = offered[int(pick)]
            online = "online" in definition.channels and (
                not working or self.rng.random() < self.plan.online_share
            )
            if not working and not online:
                continue
            if online and not working:
                at = midnight + dt.timedelta(hours=float(self.rng.random()) * 24)
            else:
                hours = float(self.rng.random()) * self.calendar.day_length / 3_600_000_000
                at = self.calendar.add(self.calendar.next_working_instant(midnight), hours * HOUR)
            channel = "online" if online else _offline(definition)
            self._push(at, "submit", (definition, channel))

    def _in_force(self, day: dt.date) -> list[ProcedureDefinition]:
        found = []
        for code in self.app.catalogue.codes():
            try:
                found.append(self.app.catalogue.get(code, on=day))
            except WorkflowError:
                continue  # not offered that day
        return found

    def _reorganise(self, day: dt.date) -> None:
        """On the first day after agencies are replaced, hand their open dossiers over."""
        directory = self.app.catalogue.agencies
        ended = day - dt.timedelta(days=1)
        replaced = [a.code for a in directory if a.successor and a.effective_to == ended]
        for code, agency in open_dossiers_at(self.app.store.engine, replaced):
            heir = directory.successor_on(agency, day).code
            moved = retrying(partial(self._transfer, code, Actor("reorganisation", heir, "system")))
            if moved is not None:
                self.summary.transfers += 1
                case = self.cases.get(code)
                if case is not None:
                    case.dossier.agency = moved.to_agency

    def _transfer(self, code: str, actor: Actor) -> ControlEvent | None:
        return transfer(code, actor, self.app.store.unit_of_work(), self.engine)

    # --- what officers do ------------------------------------------------------------------

    def _submit(self, definition: ProcedureDefinition, channel: str) -> None:
        reception = definition.steps[0].agency
        caller = _officer(reception)
        may_submit(caller, reception, definition.code)
        ref = f"DEMO-{self.summary.submitted + 1:06d}"
        papers = tuple(d.kind for d in definition.documents if d.required)
        command = Submit(definition.code, channel, ref, _actor(caller), documents=papers)
        dossier = submit(command, self.app.store.unit_of_work(), self.engine)
        self.summary.submitted += 1
        self.summary.online += channel == "online"
        self.summary.counter += channel != "online"
        steps = [s.id for s in definition.steps]
        wants = self.rng.random() < self.plan.supplement_share
        pace = self.plan.pace
        if self.rng.random() < self.plan.slow_share:
            pace *= float(self.rng.uniform(4.0, 8.0))
        case = _Case(
            dossier,
            pace,
            str(self.rng.choice(steps[:-1] or steps)) if wants else None,
            electronic=self.rng.random() < 0.9,
        )
        self.cases[dossier.code] = case
        self._next(case)

    def _act(self, code: str) -> None:
        case = self.cases[code]
        choice = self._choose(case)
        if choice is None:  # no forward trigger: leave it open
            del self.cases[code]
            return
        trigger, note, payload = choice
        caller = _officer(case.dossier.agency)
        command = Act(code, trigger, _actor(caller), note=note, payload=payload)

        def allowed(dossier: Dossier) -> None:
            may_act(caller, dossier.agency, code)

        dossier, _ = act(command, self.app.store.unit_of_work(), self.engine, check=allowed)
        case.dossier = dossier
        self._count(trigger, dossier)
        if dossier.closed:
            del self.cases[code]
            return
        self._next(case)

    def _choose(self, case: _Case) -> tuple[str, str | None, dict[str, Any]] | None:
        """The trigger an officer fires next (forward, with a supplement or a fee on the way),
        its note and its payload."""
        dossier = case.dossier
        allowed = self.engine.allowed_triggers(dossier)
        if dossier.status in (NationalStatus.SUPPLEMENT_REQUESTED, NationalStatus.FEE_REQUESTED):
            return _applicant_answer(dossier)
        wanted = case.supplement_step == dossier.step and not case.supplemented
        if wanted and "request_supplement" in allowed:
            case.supplemented = True
            return "request_supplement", "hồ sơ thiếu giấy tờ (demo)", {}
        if "request_fee" in allowed and not case.fee_asked:
            case.fee_asked = True
            return "request_fee", None, {"amount": 50_000}
        if "finish" in allowed:
            return "finish", None, {"result": f"KQ-{dossier.code}", "electronic": case.electronic}
        for trigger in ("accept", "hand_over", "return_result"):
            if trigger in allowed:
                return trigger, None, {}
        return None

    def _count(self, trigger: str, dossier: Dossier) -> None:
        summary = self.summary
        if trigger == "request_supplement":
            summary.supplements += 1
        elif trigger == "request_fee":
            summary.fees += 1
        elif trigger == "finish":
            summary.finished += 1
            summary.late += dossier.verdict == "late"
        elif trigger == "return_result":
            summary.returned += 1
            self._rate(dossier)

    def _rate(self, dossier: Dossier) -> None:
        if self.rng.random() >= self.plan.rating_share:
            return
        late = dossier.verdict == "late" or dossier.due_resets > 0
        odds = (0.2, 0.5, 0.3) if late else (0.6, 0.37, 0.03)
        level = _RATINGS[int(self.rng.choice(3, p=odds))]
        record_rating(
            self.app.store.engine, dossier.code, dossier.applicant_ref, level, self.clock.now()
        )
        self.summary.ratings += 1

    # --- timings and apologies -------------------------------------------------------------

    def _next(self, case: _Case) -> None:
        """Schedule the officer's (or the applicant's) next move, and an apology if that move
        would come after the due date."""
        dossier = case.dossier
        now = self.clock.now()
        if dossier.status is NationalStatus.SUPPLEMENT_REQUESTED:
            hours = _draw(_SUPPLEMENT_WAIT, self.rng)
        elif dossier.status is NationalStatus.FEE_REQUESTED:
            hours = _draw(_FEE_WAIT, self.rng)
        else:
            hours = _draw(self._work_of(dossier), self.rng) * case.pace
        at = self.calendar.add(now, hours * HOUR)
        self._push(at, "act", dossier.code)
        if case.apology_planned or dossier.due_resets or dossier.due_at is None:
            return
        if dossier.status not in (NationalStatus.ACCEPTED, NationalStatus.PROCESSING):
            return
        finish = self.calendar.add(at, self._remaining(dossier) * case.pace * HOUR)
        if finish > dossier.due_at + _MARGIN:  # clearly late, not a near miss
            case.apology_planned = True
            day_before = self.calendar.from_work(self.calendar.to_work(dossier.due_at) - 8 * _US)
            self._push(max(now, day_before), "apologise", (dossier.code, finish + 8 * HOUR))

    def _apologise(self, subject: tuple[str, dt.datetime]) -> None:
        code, new_due = subject
        case = self.cases.get(code)
        if case is None:
            return
        caller = _officer(case.dossier.agency)

        def allowed(dossier: Dossier) -> None:
            may_act(caller, dossier.agency, code)

        try:
            case.dossier = apologise(
                code,
                new_due,
                "khối lượng hồ sơ lớn, cán bộ chưa kịp xử lý (demo)",
                _actor(caller),
                self.app.store.unit_of_work(),
                self.engine,
                check=allowed,
            )
        except WorkflowError:
            return  # the due date moved past it, or no clock runs now: no apology needed
        self.summary.apologies += 1

    def _work_of(self, dossier: Dossier) -> Distribution:
        """The simulator's work time of the dossier's current step (working hours)."""
        key = (dossier.procedure_code, dossier.procedure_version)
        if key not in self.work:
            definition = self.app.catalogue.get(key[0], version=key[1])
            model = from_definition(definition, Arrivals(per_year=0.0))
            found: dict[str, Distribution] = {s.id: s.work[0] for s in model.steps}
            for step in definition.steps:
                found.setdefault(step.id, Empirical((0.0, max(step.share_days, 0.125) * 8)))
            self.work[key] = found
        return self.work[key].get(dossier.step or "", Empirical((0.0, 1.0)))

    def _remaining(self, dossier: Dossier) -> float:
        """Typical working hours of the steps after the current one."""
        definition = self.app.catalogue.get(
            dossier.procedure_code, version=dossier.procedure_version
        )
        ids = [s.id for s in definition.steps]
        after = ids[ids.index(dossier.step) + 1 :] if dossier.step in ids else []
        return sum(definition.step(s).share_days * 4 for s in after)


_US = 3_600_000_000  # microseconds per hour
_MARGIN = 4 * HOUR


def _draw(distribution: Distribution, rng: np.random.Generator) -> float:
    return float(distribution.quantile(rng.random(1))[0])


def _applicant_answer(dossier: Dossier) -> tuple[str, str | None, dict[str, Any]]:
    """The applicant completes the dossier, or pays the fee asked."""
    if dossier.status is NationalStatus.SUPPLEMENT_REQUESTED:
        return "supply", None, {"documents": ["supplement"]}
    return "pay_fee", None, {"receipt": f"BL-{dossier.code}", "amount": dossier.fee_due}


def _offline(definition: ProcedureDefinition) -> str:
    return next((c.value for c in definition.channels if c.value != "online"), "online")


def _officer(agency: str) -> Principal:
    return Principal(f"demo-officer-{agency}", f"demo officer {agency}", agency, Role.OFFICER)


def _actor(caller: Principal) -> Actor:
    return Actor(caller.id, caller.agency, caller.role.value)
