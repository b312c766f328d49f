"""The SLA board (:mod:`workflow.board`) counted by the database.

The counts are one pass over the partial index ``ix_dossiers_running_board`` (agency,
procedure, version, step, assignee, due instants; running clocks only), grouped by those five
columns: the risk rule becomes, per procedure version and per step, a due instant to compare
with (``risk_horizon``), written into the statement as a CASE. Paused dossiers are counted from
their own small index. The lists read the due-ordered indexes from the front and stop at their
limit; their totals come from the counts.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
    union_all,
)

from adapters.store import tables as t
from adapters.store.database import read_connection, translated
from adapters.store.routing_queries import undeliverable
from adapters.store.store import SqlStore
from workflow.board import (
    Board,
    Cell,
    Counts,
    Group,
    Handover,
    Item,
    dossier_allotment,
    hours_left,
    risk_horizon,
    standing,
)
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine as WorkflowEngine
from workflow.sla import SlaPolicy, Standing

_d = t.dossiers.c
RUNNING = text(t.RUNNING_WHERE)
PAUSED = text(t.PAUSED_WHERE)
REPEAT = text(t.REPEAT_WHERE)
UNAPOLOGISED = text(t.UNAPOLOGISED_WHERE)
_ITEM = (
    _d.code,
    _d.procedure_code,
    _d.procedure_version,
    _d.agency,
    _d.step,
    _d.assignee,
    _d.due_at,
    _d.step_due_at,
    _d.status,
)


def _instant(value: dt.datetime) -> Any:
    return bindparam(None, value, type_=t.Instant())


class Horizons:
    """The risk horizons at one instant: per procedure version for dossiers, per version and
    step for steps."""

    def __init__(
        self, at: dt.datetime, catalogue: Catalogue, calendar: WorkingCalendar, policy: SlaPolicy
    ) -> None:
        self.at = at
        self.dossier: dict[tuple[str, str], dt.datetime] = {}
        self.step: dict[tuple[str, str, str], dt.datetime] = {}
        for code in catalogue.codes():
            for d in catalogue.versions(code):
                allotment = dossier_allotment(d.limit_days)
                self.dossier[(d.code, d.version)] = risk_horizon(at, allotment, calendar, policy)
                for step in d.steps:
                    horizon = risk_horizon(at, step.share_days, calendar, policy)
                    self.step[(d.code, d.version, step.id)] = horizon

    def dossier_case(self) -> ColumnElement[Any]:
        """The dossier horizon of each row's procedure version (the instant itself if unknown)."""
        whens = [
            (and_(_d.procedure_code == code, _d.procedure_version == version), _instant(h))
            for (code, version), h in self.dossier.items()
        ]
        return case(*whens, else_=_instant(self.at))

    def step_case(self) -> ColumnElement[Any]:
        """The step horizon of each row's procedure version and step."""
        whens = [
            (
                and_(_d.procedure_code == code, _d.procedure_version == version, _d.step == step),
                _instant(h),
            )
            for (code, version, step), h in self.step.items()
        ]
        return case(*whens, else_=_instant(self.at))


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _counts_query(horizons: Horizons, agency: str | None) -> tuple[Any, dict[str, Any]]:
    """Per procedure step (an index range each, its horizons constants) and per version for
    dossiers not yet at a step, counts grouped by agency and assignee, all in one statement;
    and its parameters. The statement is built once per catalogue shape and reused."""
    steps = tuple(horizons.step)
    versions = tuple(horizons.dossier)
    statement = _counts_statement(steps, versions, agency is not None)
    params: dict[str, Any] = {"at": horizons.at, "agency": agency}
    for i, (code, version, step) in enumerate(steps):
        params[f"d{i}"] = horizons.dossier[(code, version)]
        params[f"s{i}"] = horizons.step[(code, version, step)]
    for i, key in enumerate(versions):
        params[f"v{i}"] = horizons.dossier[key]
    return statement, params


@functools.lru_cache(maxsize=16)
def _counts_statement(
    steps: tuple[tuple[str, str, str], ...], versions: tuple[tuple[str, str], ...], scoped: bool
) -> Any:
    at = bindparam("at", type_=t.Instant())
    scope = [_d.agency == bindparam("agency")] if scoped else []
    keys = (_d.procedure_code, _d.procedure_version, _d.step, _d.agency, _d.assignee)

    def part(where: list[Any], dossier: Any, step: Any) -> Any:
        return (
            select(
                *keys,
                func.count().label("total"),
                func.count(_d.due_at).label("started"),
                _sum(_d.due_at < at).label("overdue"),
                _sum(_d.due_at < dossier).label("warned"),
                func.count(_d.step_due_at).label("steps"),
                _sum(_d.step_due_at < at).label("step_overdue"),
                _sum(_d.step_due_at < step).label("step_warned"),
            )
            .where(RUNNING, *where, *scope)
            .group_by(*keys)
        )

    parts = [
        part(
            [_d.procedure_code == code, _d.procedure_version == version, _d.step == step],
            bindparam(f"d{i}", type_=t.Instant()),
            bindparam(f"s{i}", type_=t.Instant()),
        )
        for i, (code, version, step) in enumerate(steps)
    ]
    parts += [  # dossiers at no step (not yet placed): one range of the index per version
        part(
            [_d.procedure_code == code, _d.procedure_version == version, _d.step.is_(None)],
            bindparam(f"v{i}", type_=t.Instant()),
            at,
        )
        for i, (code, version) in enumerate(versions)
    ]
    return union_all(*parts)


def _paused_query(agency: str | None) -> Any:
    where: list[Any] = [PAUSED]
    if agency is not None:
        where.append(_d.agency == agency)
    keys = (_d.agency, _d.procedure_code, _d.procedure_version, _d.assignee)
    return select(*keys, func.count().label("total")).where(*where).group_by(*keys)


def _list(connection: Connection, where: list[Any], order: Any, limit: int) -> list[Any]:
    statement = select(*_ITEM).where(*where).order_by(order, _d.code).limit(limit)
    return list(connection.execute(statement))


def _count(connection: Connection, where: list[Any]) -> int:
    statement = select(func.count()).select_from(t.dossiers).where(*where)
    return int(connection.execute(statement).scalar_one())


def sla_board(
    engine: Engine,
    url: str,
    at: dt.datetime,
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    *,
    agency: str | None = None,
    limit: int = 50,
) -> Board:
    """The board at ``at`` (of one ``agency``, or of all), lists cut at ``limit``."""
    horizons = Horizons(at, catalogue, calendar, policy)
    apology_horizon = calendar.add(at, dt.timedelta(microseconds=2 * calendar.day_length))
    with translated(url), read_connection(engine) as connection:
        if connection.dialect.name == "postgresql":
            # a union of a hundred small index ranges: compiling it to machine code (JIT) takes
            # longer than running it
            connection.exec_driver_sql("SET LOCAL jit = off")
        statement, params = _counts_query(horizons, agency)
        counted = list(connection.execute(statement, params))
        paused = list(connection.execute(_paused_query(agency)))
        scope = [] if agency is None else [_d.agency == agency]
        stamp = _instant(at)
        overdue = _list(connection, [RUNNING, _d.due_at < stamp, *scope], _d.due_at, limit)
        at_risk = _list(
            connection,
            [RUNNING, _d.due_at >= stamp, _d.due_at < horizons.dossier_case(), *scope],
            _d.due_at,
            limit,
        )
        steps = _list(connection, [RUNNING, _d.step_due_at < stamp, *scope], _d.step_due_at, limit)
        apology_where: list[Any] = [UNAPOLOGISED, _d.due_at < _instant(apology_horizon), *scope]
        apology = _list(connection, apology_where, _d.due_at, limit)
        apology_total = _count(connection, apology_where)
        repeat_where: list[Any] = [REPEAT, *scope]
        repeat = _list(connection, repeat_where, _d.due_at, limit)
        repeat_total = _count(connection, repeat_where)
    lost = [
        Handover(
            u.message_id,
            u.dossier_code,
            u.from_agency,
            u.to_agency,
            u.service,
            u.created_at,
            u.undeliverable_at,
        )
        for u in undeliverable(engine, agency)
    ]
    return _board(
        at,
        agency,
        counted,
        paused,
        horizons,
        calendar,
        lists={
            "overdue": overdue,
            "at_risk": at_risk,
            "overdue_steps": steps,
            "apology_due": apology,
            "repeat_supplements": repeat,
        },
        undeliverables=lost,
        totals={"apology_due": int(apology_total), "repeat_supplements": int(repeat_total)},
    )


def _board(
    at: dt.datetime,
    agency: str | None,
    counted: list[Any],
    paused: list[Any],
    horizons: Horizons,
    calendar: WorkingCalendar,
    *,
    lists: dict[str, list[Any]],
    undeliverables: list[Handover],
    totals: dict[str, int],
) -> Board:
    # five running sums per key (on track, at risk, overdue, paused, not started): plain lists,
    # since the rows number in the thousands
    dossiers: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    steps: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    for row in counted:
        mine = _dossier_counts(row)
        step_overdue, step_warned = int(row.step_overdue), int(row.step_warned)
        step = (int(row.steps) - step_warned, step_warned - step_overdue, step_overdue, 0, 0)
        _add(dossiers, steps, cells, row, mine, step)
    for row in paused:
        waiting = (0, 0, 0, int(row.total), 0)
        _add(dossiers, steps, cells, row, waiting, waiting)
    everything = _total(dossiers, "agency")
    step_total = _total(steps, "agency")
    items = {name: _items(rows, at, horizons, calendar, name) for name, rows in lists.items()}
    return Board(
        at=at,
        agency=agency,
        dossiers=everything,
        steps=step_total,
        by_agency=_groups(dossiers, steps, "agency"),
        by_procedure=_groups(dossiers, steps, "procedure"),
        by_officer=_groups(dossiers, steps, "officer"),
        cells=tuple(Cell(a, p, Counts(*c)) for (a, p), c in sorted(cells.items())),
        overdue=items["overdue"],
        at_risk=items["at_risk"],
        overdue_steps=items["overdue_steps"],
        apology_due=items["apology_due"],
        undeliverable=tuple(undeliverables),
        repeat_supplements=items["repeat_supplements"],
        totals={
            "overdue": everything.overdue,
            "at_risk": everything.at_risk,
            "overdue_steps": step_total.overdue,
            "undeliverable": len(undeliverables),
            **totals,
        },
    )


def _dossier_counts(row: Any) -> tuple[int, int, int, int, int]:
    overdue, warned, started = int(row.overdue), int(row.warned), int(row.started)
    return (started - warned, warned - overdue, overdue, 0, int(row.total) - started)


def _add(
    dossiers: dict[tuple[str, str], list[int]],
    steps: dict[tuple[str, str], list[int]],
    cells: dict[tuple[str, str], list[int]],
    row: Any,
    mine: tuple[int, ...],
    step: tuple[int, ...],
) -> None:
    procedure = f"{row.procedure_code}@{row.procedure_version}"
    for key in (("agency", row.agency), ("procedure", procedure), ("officer", row.assignee or "")):
        _plus(dossiers[key], mine)
        _plus(steps[key], step)
    _plus(cells[(row.agency, procedure)], mine)


def _plus(into: list[int], values: tuple[int, ...]) -> None:
    for i, value in enumerate(values):
        into[i] += value


def _total(counts: dict[tuple[str, str], list[int]], kind: str) -> Counts:
    total = [0] * 5
    for (k, _), value in counts.items():
        if k == kind:
            _plus(total, tuple(value))
    return Counts(*total)


def _groups(
    dossiers: dict[tuple[str, str], list[int]], steps: dict[tuple[str, str], list[int]], kind: str
) -> tuple[Group, ...]:
    keys = sorted(key for k, key in dossiers if k == kind)
    return tuple(
        Group(key, Counts(*dossiers[(kind, key)]), Counts(*steps[(kind, key)])) for key in keys
    )


def _items(
    rows: Iterable[Any],
    at: dt.datetime,
    horizons: Horizons,
    calendar: WorkingCalendar,
    name: str,
) -> tuple[Item, ...]:
    found = []
    for row in rows:
        of_step = name == "overdue_steps"
        due = row.step_due_at if of_step else row.due_at
        if due is None:
            continue
        key = (row.procedure_code, row.procedure_version)
        horizon = (
            horizons.step.get((*key, row.step or ""), at)
            if of_step
            else horizons.dossier.get(key, at)
        )
        found.append(
            Item(
                code=row.code,
                procedure=row.procedure_code,
                version=row.procedure_version,
                agency=row.agency,
                step=row.step,
                assignee=row.assignee,
                due_at=due,
                hours=hours_left(at, due, calendar),
                standing=standing(at, due, horizon, paused=row.status in (5, 6)),
            )
        )
    return tuple(found)


def standing_of_open(
    engine: Engine,
    url: str,
    at: dt.datetime,
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    policy: SlaPolicy,
) -> list[tuple[str, str, str, str, str | None, dt.datetime, Standing]]:
    """Every running dossier and step that is at risk or overdue at ``at``: (kind, code,
    agency, procedure, step, due instant, standing), for the alerts. ``kind``: dossier or step.
    Reads the due-ordered indexes up to the furthest risk horizon."""
    horizons = Horizons(at, catalogue, calendar, policy)
    furthest = max([*horizons.dossier.values(), *horizons.step.values(), at])
    found: list[tuple[str, str, str, str, str | None, dt.datetime, Standing]] = []
    with translated(url), read_connection(engine) as connection:
        for kind, column, horizon in (
            ("dossier", _d.due_at, horizons.dossier_case()),
            ("step", _d.step_due_at, horizons.step_case()),
        ):
            statement = (
                select(*_ITEM)
                .where(RUNNING, column < _instant(furthest), column < horizon)
                .order_by(column, _d.code)
            )
            for row in connection.execute(statement):
                due = row.step_due_at if kind == "step" else row.due_at
                state = Standing.OVERDUE if due < at else Standing.AT_RISK
                found.append((kind, row.code, row.agency, row.procedure_code, row.step, due, state))
    return found


def backfill_step_clocks(store: SqlStore, engine: WorkflowEngine, batch: int = 500) -> int:
    """Fill in the step clock of open dossiers stored before the engine kept one (migration
    0006 leaves their ``step_due_at`` empty), from their control sheets; returns how many.
    The dossiers' versions do not change: the clock is derived data, like ``due_at``."""
    missing = select(_d.code).where(
        text("NOT closed"), _d.step.is_not(None), _d.step_due_at.is_(None)
    )
    filled = 0
    with translated(store.url):
        while True:
            with read_connection(store.engine) as connection:
                codes = [row[0] for row in connection.execute(missing.limit(batch))]
            if not codes:
                break
            with store.reading() as uow:
                clocks = [(code, engine.steps_of(uow.dossiers.get(code))) for code in codes]
            with store.engine.begin() as connection:
                for code, visits in clocks:
                    last = visits[-1] if visits else None
                    now = engine.clock.now()  # no visit (none seen): never look at it again
                    connection.execute(
                        t.dossiers.update()
                        .where(_d.code == code)
                        .values(
                            step_due_at=last.due_at if last else now,
                            step_started_at=last.started_at if last else now,
                        )
                    )
            filled += len(codes)
    store.cache.clear()
    return filled
