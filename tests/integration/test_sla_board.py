"""The SLA board counted by the database (SQLite and PostgreSQL) against each dossier's own
clock (:mod:`workflow.sla`), with freezegun moving "now" across the at-risk and overdue
boundaries, across a weekend and across Tết 2026 (16-20 February)."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from adapters.clock import SystemClock
from adapters.store.sla_board import sla_board, standing_of_open
from adapters.store.store import SqlStore
from tests.conftest import FixedClock
from tests.histories import OFFICER, PAPERS, VN, make_history, plans
from workflow.board import Board, Counts
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.engine import Engine
from workflow.services import Act, Submit, act, submit
from workflow.sla import SlaPolicy, Standing, dossier_clock, step_clocks

CALENDAR = WorkingCalendar()
POLICY = SlaPolicy()


def _accepted(store: SqlStore, engine: Engine, clock: FixedClock, at: dt.datetime) -> str:
    clock.set(at)
    command = Submit("2.000986", "online", "REF", OFFICER, documents=PAPERS)
    code = submit(command, store.unit_of_work(), engine).code
    act(Act(code, "accept", OFFICER), store.unit_of_work(), engine)
    return code


def _board(store: SqlStore, catalogue: Catalogue, agency: str | None = None) -> Board:
    now = SystemClock().now()  # frozen by freezegun
    return sla_board(
        store.engine, store.url, now, catalogue, CALENDAR, POLICY, agency=agency, limit=100
    )


def test_a_dossier_accepted_before_tet_turns_at_risk_then_overdue_after_it(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    # Friday 13 February 2026, 09:00: 3 working days run out on Wednesday 25 February, 09:00
    # (7 hours that Friday; then Tết, 16-20 February, and two weekends are not counted)
    code = _accepted(sql, engine, clock, dt.datetime(2026, 2, 13, 9, tzinfo=VN))
    # at risk with less than 20% of 3 days (4.8 working hours) left: from 24 February, 13:12
    moments = [
        (dt.datetime(2026, 2, 14, 10, tzinfo=VN), Standing.ON_TRACK),  # Saturday
        (dt.datetime(2026, 2, 18, 10, tzinfo=VN), Standing.ON_TRACK),  # Tết
        (dt.datetime(2026, 2, 24, 13, 11, tzinfo=VN), Standing.ON_TRACK),
        (dt.datetime(2026, 2, 24, 13, 13, tzinfo=VN), Standing.AT_RISK),
        (dt.datetime(2026, 2, 25, 8, 59, tzinfo=VN), Standing.AT_RISK),
        (dt.datetime(2026, 2, 25, 9, 1, tzinfo=VN), Standing.OVERDUE),
    ]
    for moment, expected in moments:
        with freeze_time(moment):
            board = _board(sql, catalogue)
            with sql.reading() as uow:
                own = engine.clock_of(uow.dossiers.get(code), SystemClock().now())
        assert own.standing is expected, moment
        counts = board.dossiers
        assert (counts.on_track, counts.at_risk, counts.overdue) == (
            int(expected is Standing.ON_TRACK),
            int(expected is Standing.AT_RISK),
            int(expected is Standing.OVERDUE),
        ), moment
        listed = board.overdue if expected is Standing.OVERDUE else board.at_risk
        if expected is not Standing.ON_TRACK:
            assert [item.code for item in listed] == [code]
            assert listed[0].standing is expected
            assert (listed[0].hours < 0) is (expected is Standing.OVERDUE)


def test_over_a_weekend_a_step_does_not_run_out(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    code = _accepted(sql, engine, clock, dt.datetime(2026, 3, 6, 15, tzinfo=VN))  # a Friday
    act(Act(code, "hand_over", OFFICER), sql.unit_of_work(), engine)  # birth registration
    # the step has 0.375 of a day (3 hours): 2 hours on Friday, the last one on Monday morning
    with freeze_time(dt.datetime(2026, 3, 8, 12, tzinfo=VN)):  # Sunday
        assert _board(sql, catalogue).steps.overdue == 0
    with freeze_time(dt.datetime(2026, 3, 9, 8, 30, tzinfo=VN)):  # Monday, 30 minutes left
        board = _board(sql, catalogue)
        assert (board.steps.at_risk, board.steps.overdue) == (1, 0)
    with freeze_time(dt.datetime(2026, 3, 9, 9, 1, tzinfo=VN)):
        board = _board(sql, catalogue)
        assert board.steps.overdue == 1
        assert [(i.code, i.step) for i in board.overdue_steps] == [(code, "birth_registration")]


def test_the_board_agrees_with_every_dossiers_own_clocks(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    make_history(plans(44), sql.unit_of_work, engine, clock)
    definition = catalogue.get("2.000986", version="2025")
    for moment in (
        dt.datetime(2026, 4, 3, 10, tzinfo=VN),
        dt.datetime(2026, 4, 20, 16, tzinfo=VN),
        dt.datetime(2026, 6, 1, 9, tzinfo=VN),
    ):
        with freeze_time(moment):
            board = _board(sql, catalogue)
        with sql.reading() as uow:
            dossiers = [uow.dossiers.get(code) for code in _open_codes(sql)]
        expected = Counts()
        steps = Counts()
        for dossier in dossiers:
            own = dossier_clock(dossier, definition, CALENDAR, moment, POLICY).standing
            expected = expected + _one(own)
            last = step_clocks(dossier, definition, CALENDAR, moment, POLICY)[-1]
            steps = steps + _one(last.standing)
        assert board.dossiers == expected, moment
        assert board.steps == steps, moment
        assert board.dossiers.open == len(dossiers) > 0


def test_groupings_add_up_and_an_agency_sees_its_own(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    make_history(plans(44), sql.unit_of_work, engine, clock)
    with freeze_time(dt.datetime(2026, 4, 20, 16, tzinfo=VN)):
        board = _board(sql, catalogue)
        police = _board(sql, catalogue, agency="000.09.71.H26")
    for groups in (board.by_agency, board.by_procedure, board.by_officer):
        total = Counts()
        for group in groups:
            total = total + group.dossiers
        assert total == board.dossiers
    [mine] = [g for g in board.by_agency if g.key == "000.09.71.H26"]
    assert police.dossiers == mine.dossiers and police.agency == "000.09.71.H26"
    assert {g.key for g in police.by_agency} == {"000.09.71.H26"}
    assert sum((c.dossiers for c in board.cells), Counts()) == board.dossiers
    assert board.totals["repeat_supplements"] == 0
    assert {g.key for g in board.by_procedure} == {"2.000986@2025"}


def test_alerts_read_the_same_standings(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    make_history(plans(44), sql.unit_of_work, engine, clock)
    moment = dt.datetime(2026, 4, 20, 16, tzinfo=VN)
    board = sla_board(sql.engine, sql.url, moment, catalogue, CALENDAR, POLICY, limit=500)
    found = standing_of_open(sql.engine, sql.url, moment, catalogue, CALENDAR, POLICY)
    dossiers = {(code, state) for kind, code, *_, state in found if kind == "dossier"}
    listed = {(i.code, i.standing) for i in (*board.overdue, *board.at_risk)}
    assert dossiers == listed
    steps = [state for kind, *_, state in found if kind == "step"]
    assert steps.count(Standing.OVERDUE) == board.steps.overdue
    assert steps.count(Standing.AT_RISK) == board.steps.at_risk


def _one(standing: Standing) -> Counts:
    return Counts(
        on_track=int(standing is Standing.ON_TRACK),
        at_risk=int(standing is Standing.AT_RISK),
        overdue=int(standing is Standing.OVERDUE),
        paused=int(standing is Standing.PAUSED),
        not_started=int(standing is Standing.NOT_STARTED),
    )


def _open_codes(store: SqlStore) -> list[str]:
    from sqlalchemy import select  # noqa: PLC0415

    from adapters.store import tables as t  # noqa: PLC0415

    with store.engine.connect() as connection:
        query = select(t.dossiers.c.code).where(t.dossiers.c.closed.is_(False))
        return [row[0] for row in connection.execute(query)]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=VN))


def test_step_clocks_of_dossiers_stored_before_them_are_filled_in(
    sql: SqlStore, catalogue: Catalogue, clock: FixedClock
) -> None:
    from sqlalchemy import select, update  # noqa: PLC0415

    from adapters.store import tables as t  # noqa: PLC0415
    from adapters.store.sla_board import backfill_step_clocks  # noqa: PLC0415

    engine = Engine(catalogue, clock, CALENDAR, POLICY)
    make_history(plans(22), sql.unit_of_work, engine, clock)
    columns = select(t.dossiers.c.code, t.dossiers.c.step_due_at, t.dossiers.c.step_started_at)
    opened = columns.where(t.dossiers.c.closed.is_(False)).order_by(t.dossiers.c.code)
    with sql.engine.begin() as connection:
        kept = list(connection.execute(opened))
        connection.execute(  # as migration 0006 leaves them
            update(t.dossiers).where(t.dossiers.c.closed.is_(False)).values(step_due_at=None)
        )
    sql.cache.clear()
    assert backfill_step_clocks(sql, engine) == len(kept) > 0
    with sql.engine.connect() as connection:
        assert list(connection.execute(opened)) == kept
    assert backfill_step_clocks(sql, engine) == 0
