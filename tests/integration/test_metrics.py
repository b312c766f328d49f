"""Metrics and the scorecard over a history made through the real engine and store (SQLite and
PostgreSQL), checked against figures counted another way: each dossier's own SLA clock."""

from __future__ import annotations

import datetime as dt
import statistics

import numpy as np
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update

from adapters.store import tables as t
from adapters.store.dossier_queries import record_rating
from adapters.store.history_queries import epoch_us, load_history
from adapters.store.store import SqlStore
from adapters.store.tables import Instant
from tests.conftest import FixedClock
from tests.histories import VN, make_history, plans
from workflow.calendar import WorkingCalendar
from workflow.catalogue import Catalogue
from workflow.errors import InvalidDossier, MetricsError
from workflow.history import to_us
from workflow.metrics import Goal, Limits, MetricsOptions, Period, procedure_metrics
from workflow.scorecard import scorecard
from workflow.sla import Verdict, dossier_clock

CALENDAR = WorkingCalendar()
MAY = dt.datetime(2026, 6, 1, tzinfo=VN)


@pytest.fixture
def history_store(sql: SqlStore, catalogue: Catalogue, clock: FixedClock) -> SqlStore:
    from workflow.engine import Engine  # noqa: PLC0415

    engine = Engine(catalogue, clock, CALENDAR)
    make_history(plans(44), sql.unit_of_work, engine, clock)
    clock.set(MAY)
    return sql


def _dossiers(store: SqlStore) -> list:  # type: ignore[type-arg]
    with store.engine.connect() as connection:
        codes = [r[0] for r in connection.execute(t.dossiers.select().order_by(t.dossiers.c.code))]
    with store.reading() as uow:
        return [uow.dossiers.get(code) for code in codes]


def test_processing_times_equal_each_dossiers_own_clock(
    history_store: SqlStore, catalogue: Catalogue
) -> None:
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    [found] = procedure_metrics(history, CALENDAR, {}, MetricsOptions(min_count=5))
    definition = catalogue.get("2.000986", version="2025")
    expected = []
    verdicts = []
    for dossier in _dossiers(history_store):
        if dossier.finished_at is None:
            continue
        clock = dossier_clock(dossier, definition, CALENDAR, dossier.finished_at)
        assert clock.started_at is not None
        working = CALENDAR.working_time(clock.started_at, dossier.finished_at)
        expected.append((working / dt.timedelta(hours=1) - clock.paused_hours) / 8)
        verdicts.append(clock.verdict)
    assert found.finished == len(expected) == 40
    assert found.median_days == pytest.approx(statistics.median(expected), abs=1e-9)
    assert found.p90_days == pytest.approx(float(np.quantile(expected, 0.9)), abs=1e-9)
    in_time = sum(v in (Verdict.EARLY, Verdict.ON_TIME) for v in verdicts)
    assert found.on_time_rate == pytest.approx(in_time / len(verdicts))
    assert found.late == sum(v is Verdict.LATE for v in verdicts) > 0
    assert found.early_share == pytest.approx(
        sum(v is Verdict.EARLY for v in verdicts) / len(verdicts)
    )


def test_where_the_time_goes_adds_up_to_the_processing_time(history_store: SqlStore) -> None:
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    [found] = procedure_metrics(history, CALENDAR, {}, MetricsOptions(min_count=5))
    assert found.median_days is not None
    by_place = {(s.step, s.agency): s for s in found.steps}
    # every finished dossier visited birth registration, residence and insurance
    assert by_place[("residence_registration", "000.09.71.H26")].dossiers == 40
    assert by_place[("health_insurance", "000.08.71.H26")].dossiers == 40
    total = sum(s.mean_days * s.dossiers for s in found.steps) / found.finished
    durations = []
    cases = history.cases
    done = np.flatnonzero(cases.finished != np.iinfo(np.int64).min)
    for row in done:
        work = CALENDAR.to_work_array(cases.finished[[row]]) - CALENDAR.to_work_array(
            cases.started[[row]]
        )
        durations.append((int(work[0]) - int(cases.paused[row])) / CALENDAR.day_length)
    assert total == pytest.approx(float(np.mean(durations)), abs=1e-9)
    assert sum(s.share for s in found.steps) == pytest.approx(1.0)


def test_the_goal_needs_a_baseline_and_enough_dossiers(history_store: SqlStore) -> None:
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    limits = {("2.000986", "2025"): Limits("linked", 3, baseline_days=10)}
    [meets] = procedure_metrics(history, CALENDAR, limits, MetricsOptions(min_count=30))
    assert meets.baseline_source == "declared" and meets.goal is Goal.MEETS
    assert meets.reduction is not None and meets.reduction >= 0.2
    assert meets.reduction_low is not None and meets.reduction_high is not None
    assert meets.reduction_low <= meets.reduction <= meets.reduction_high
    [few] = procedure_metrics(history, CALENDAR, limits, MetricsOptions(min_count=41))
    assert few.goal is Goal.NOT_ENOUGH_DATA and not few.confirmed
    [none] = procedure_metrics(history, CALENDAR, {}, MetricsOptions(min_count=5))
    assert none.goal is Goal.NO_BASELINE and none.reduction is None
    # a measured baseline: the same dossiers as their own baseline are 0% faster
    same = MetricsOptions(min_count=5, baseline_period=Period())
    [itself] = procedure_metrics(history, CALENDAR, limits, same)
    assert itself.baseline_source == "period" and itself.baseline_count == 40
    assert itself.reduction == pytest.approx(0.0) and itself.goal is Goal.DOES_NOT_MEET


def test_a_period_counts_only_the_dossiers_finished_in_it(history_store: SqlStore) -> None:
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    march = Period(dt.datetime(2026, 3, 1, tzinfo=VN), dt.datetime(2026, 4, 1, tzinfo=VN))
    april = Period(dt.datetime(2026, 4, 1, tzinfo=VN), dt.datetime(2026, 5, 1, tzinfo=VN))
    counts = [
        procedure_metrics(history, CALENDAR, {}, MetricsOptions(period=p, min_count=1))
        for p in (march, april)
    ]
    assert sum(m[0].finished for m in counts if m) == 40
    with pytest.raises(MetricsError, match="before it starts"):
        Period(april.end, april.start)
    with pytest.raises(MetricsError, match="no timezone"):
        Period(dt.datetime(2026, 3, 1))


def test_scorecard_indicators_match_the_caseload(history_store: SqlStore) -> None:
    dossiers = _dossiers(history_store)
    returned = [d for d in dossiers if d.status == 10]
    for n, dossier in enumerate(returned[:20]):
        level = "dissatisfied" if n == 0 else ("satisfied" if n % 2 else "very_satisfied")
        rated = MAY - dt.timedelta(days=1)
        record_rating(history_store.engine, dossier.code, dossier.applicant_ref, level, rated)
    with history_store.engine.begin() as connection:  # one hand-over given up as undeliverable
        first = connection.execute(t.outbox.select().order_by(t.outbox.c.id)).first()
        assert first is not None
        connection.execute(
            update(t.outbox).where(t.outbox.c.id == first.id).values(undeliverable_at=MAY)
        )
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    period = Period(dt.datetime(2026, 3, 1, tzinfo=VN), MAY)
    card = scorecard(history, CALENDAR, period)
    by_key = {i.key: i for i in card.indicators}
    online = sum(d.channel == "online" for d in dossiers)
    assert (by_key["online_share"].numerator, by_key["online_share"].denominator) == (online, 44)
    finished = [d for d in dossiers if d.finished_at is not None]
    electronic = sum(d.result_electronic for d in finished)
    digitised = by_key["digitised_results"]
    assert (digitised.numerator, digitised.denominator) == (electronic, len(finished))
    assert digitised.met is False
    handovers = sum(len(d.handovers()) for d in dossiers)
    share = by_key["electronic_handovers"]
    assert (share.numerator, share.denominator) == (handovers - 1, handovers)
    satisfaction = by_key["satisfaction"]
    assert (satisfaction.numerator, satisfaction.denominator) == (19, 20)
    assert satisfaction.value == pytest.approx(0.95) and satisfaction.met is True
    on_time = by_key["on_time_766"]
    in_time = sum(d.verdict in ("early", "on_time") for d in finished)
    still_open = [d for d in dossiers if d.finished_at is None]
    not_due = sum(d.due_at >= MAY and d.supplement_requests <= 1 for d in still_open)
    assert (on_time.numerator, on_time.denominator) == (in_time + not_due, 44)
    months = [m.month for m in by_key["online_share"].trend]
    assert months == ["2026-03", "2026-04", "2026-05"]
    assert sum(m.denominator for m in by_key["online_share"].trend) == 44
    assert by_key["procedures_meeting_goal"].denominator == 0  # no baseline declared


def test_a_rating_is_refused_before_the_result_is_returned(history_store: SqlStore) -> None:
    dossiers = _dossiers(history_store)
    still_open = next(d for d in dossiers if d.finished_at is None)
    with pytest.raises(InvalidDossier, match="has not been returned"):
        record_rating(
            history_store.engine, still_open.code, still_open.applicant_ref, "satisfied", MAY
        )
    returned = next(d for d in dossiers if d.status == 10)
    assert not record_rating(history_store.engine, returned.code, "WRONG", "satisfied", MAY)
    with pytest.raises(InvalidDossier, match="not known"):
        record_rating(history_store.engine, returned.code, returned.applicant_ref, "meh", MAY)
    record_rating(history_store.engine, returned.code, returned.applicant_ref, "satisfied", MAY)
    with pytest.raises(InvalidDossier, match="already rated"):
        record_rating(history_store.engine, returned.code, returned.applicant_ref, "satisfied", MAY)


def test_instants_are_read_as_exact_microseconds_since_the_epoch(sql: SqlStore) -> None:
    probe = Table(
        "instants_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", Instant)
    )
    instants = [
        dt.datetime(2025, 7, 3, 11, 13, 42, 999_918, tzinfo=VN),  # a fraction near the next second
        dt.datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.UTC),  # no fraction
        dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 2, 9, 0, 0, 500_000, tzinfo=VN),
        None,
    ]
    probe.create(sql.engine)
    with sql.engine.begin() as connection:
        connection.execute(probe.insert(), [{"id": i, "at": at} for i, at in enumerate(instants)])
        read = connection.execute(
            select(epoch_us(connection.dialect.name, probe.c.at)).order_by(probe.c.id)
        ).scalars()
        assert list(read) == [None if at is None else to_us(at) for at in instants]


def test_the_trend_covers_only_the_months_the_history_spans(history_store: SqlStore) -> None:
    dossiers = _dossiers(history_store)
    returned = next(d for d in dossiers if d.status == 10)
    rated = dt.datetime(2026, 7, 15, tzinfo=VN)  # after every finish: the history's last instant
    record_rating(history_store.engine, returned.code, returned.applicant_ref, "satisfied", rated)
    history = load_history(history_store.engine, history_store.url, CALENDAR, MAY)
    # a period of centuries (a typing slip, or a generated request) is measured over its data
    wide = Period(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(5609, 1, 1, tzinfo=dt.UTC))
    card = scorecard(history, CALENDAR, wide)
    for indicator in card.indicators:
        assert [m.month for m in indicator.trend] == [
            "2026-03",
            "2026-04",
            "2026-05",
            "2026-06",
            "2026-07",
        ]
    by_key = {i.key: i for i in card.indicators}
    assert by_key["online_share"].denominator == 44
    assert by_key["satisfaction"].denominator == 1
    # an open-ended period ends after the last rating, so the rating counts
    assert {i.key: i for i in scorecard(history, CALENDAR, Period()).indicators}[
        "satisfaction"
    ].denominator == 1
    # a period without any of the history: values and trend empty
    later = Period(dt.datetime(2030, 1, 1, tzinfo=VN), dt.datetime(2031, 1, 1, tzinfo=VN))
    empty = scorecard(history, CALENDAR, later)
    assert all(i.trend == () and i.value is None for i in empty.indicators)
