"""The demo driver on a real SQLite store and the embedded bus: ten days around the
reorganisation of 1 July 2025."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, make_url, select, text

from adapters.bootstrap import App, Settings, bootstrap, open_store
from adapters.demo import BadDemoPlan, DemoPlan, DemoRefused, DemoSummary, run_demo
from adapters.reports import metrics_report, scorecard_report
from adapters.store import tables as t
from adapters.store.database import make_engine
from workflow.dossier import Dossier
from workflow.engine import APOLOGISE, TRANSFER
from workflow.metrics import MetricsOptions, Period

VN = ZoneInfo("Asia/Ho_Chi_Minh")
REORGANISED = dt.date(2025, 7, 1)
# more supplements and swamped officers than the default, so that ten days show each case
PLAN = DemoPlan(
    start=dt.date(2025, 6, 24), days=10, per_day=10, seed=7, supplement_share=0.3, slow_share=0.3
)


def _app(var: Path) -> App:
    return bootstrap(Settings(var_dir=var, secret_key="ab" * 32))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[App, DemoSummary, list[Dossier]]:
    app = _app(tmp_path_factory.mktemp("demo"))
    summary = run_demo(app, PLAN)
    return app, summary, _dossiers(app)


def _dossiers(app: App) -> list[Dossier]:
    with app.store.engine.connect() as connection:
        codes = list(connection.execute(select(t.dossiers.c.code).order_by(t.dossiers.c.code)))
    with app.store.reading() as uow:
        return [uow.dossiers.get(code) for (code,) in codes]


def test_demo_receives_both_channels_and_finishes_some(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    _, summary, dossiers = demo
    assert summary.submitted == len(dossiers) > 50
    channels = {d.channel.value for d in dossiers}
    assert {"online", "counter"} <= channels
    returned = [d for d in dossiers if d.status.value == 10]
    assert returned and summary.returned == len(returned)
    assert summary.supplements > 0
    assert any(e.trigger == "request_supplement" for d in dossiers for e in d.history)
    assert summary.ratings > 0


def test_late_dossiers_get_an_apology_before_the_due_date(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    _, summary, dossiers = demo
    apologised = [d for d in dossiers if any(e.trigger == APOLOGISE for e in d.history)]
    assert apologised and summary.apologies == len(apologised)
    for d in apologised:
        assert d.due_resets == 1 and d.reset_due_at is not None
    for d in apologised:  # the new return date is later than the day of the apology
        row = next(e for e in d.history if e.trigger == APOLOGISE)
        assert d.reset_due_at is not None and d.reset_due_at > row.at
    assert summary.late == sum(d.verdict == "late" for d in dossiers) > 0


def test_reorganisation_hands_open_district_dossiers_to_wards(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    app, summary, dossiers = demo
    directory = app.catalogue.agencies
    moved = [d for d in dossiers if any(e.trigger == TRANSFER for e in d.history)]
    assert moved and summary.transfers == len(moved)
    for d in moved:
        row = next(e for e in d.history if e.trigger == TRANSFER)
        assert row.at.astimezone(VN).date() == REORGANISED
        assert not directory.get(row.agency).in_force(REORGANISED)
        assert row.to_agency == directory.successor_on(row.agency, REORGANISED).code
        assert d.procedure_version == "2018" or d.procedure_code == "HN-DD-CGCN"
        assert directory.get(d.agency).in_force(REORGANISED)


def test_handovers_are_routed_and_acknowledged(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    app, summary, _ = demo
    o = t.outbox.c
    with app.store.engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(t.outbox)).scalar_one()
        acknowledged = connection.execute(
            select(func.count()).where(o.acknowledged_at.is_not(None))
        ).scalar_one()
    assert total > 0 and summary.messages_published >= total
    assert acknowledged == summary.messages_acknowledged
    assert acknowledged == total  # every hand-over, the reorganised ones included


def test_metrics_and_scorecard_are_computed_over_the_demo(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    app, _, _ = demo
    period = Period(dt.datetime(2025, 6, 1, tzinfo=VN), dt.datetime(2025, 8, 1, tzinfo=VN))
    options = MetricsOptions(period=period, min_count=1, resamples=0)
    report = metrics_report(app, options)
    assert report.procedures and sum(m.finished for m in report.procedures) > 0
    card = scorecard_report(app, options)
    found = {i.key: i for i in card.indicators}
    online = found["online_share"]
    assert online.denominator > 0 and online.value is not None and 0 < online.value < 1
    assert found["electronic_handovers"].denominator > 0
    assert found["satisfaction"].denominator > 0


def test_same_seed_gives_the_same_dossiers(
    demo: tuple[App, DemoSummary, list[Dossier]], tmp_path: Path
) -> None:
    _, summary, dossiers = demo
    again = _app(tmp_path)
    repeat = run_demo(again, PLAN)
    assert repeat.submitted == summary.submitted
    assert [d.code for d in _dossiers(again)] == [d.code for d in dossiers]


def test_refuses_a_store_that_holds_dossiers_unless_forced(
    demo: tuple[App, DemoSummary, list[Dossier]],
) -> None:
    app, _, dossiers = demo
    with pytest.raises(DemoRefused, match=r"already holds \d+ dossiers.*--force"):
        run_demo(app, PLAN)
    one_day = DemoPlan(start=dt.date(2025, 9, 2), days=1, per_day=3, seed=1)
    added = run_demo(app, one_day, force=True)
    assert app.store.count_dossiers() == len(dossiers) + added.submitted


@pytest.mark.parametrize(
    ("plan", "names"),
    [
        (
            DemoPlan(start=dt.date(1999, 12, 30), days=3),
            r"1999-12-30 to 2000-01-01\) run outside the working calendar \(year 1999 is before",
        ),
        (
            DemoPlan(start=dt.date(2025, 1, 2), days=100_000),
            r"2025-01-02 to 2298-10-17\) run outside the working calendar \(year 2299 is after",
        ),
        (
            DemoPlan(start=dt.date(2010, 1, 1), days=3),
            r"no procedure .* in force .*2010-01-01 to 2010-01-03.*takes effect on 2018-08-21; "
            r"give a --start on or after it",
        ),
        (DemoPlan(days=0), r"at least one day; 0 were asked for"),
        (DemoPlan(per_day=1e12), r"1e\+12 dossiers a day is outside 0 to 100,000"),
    ],
    ids=["before-the-calendar", "past-the-calendar", "no-procedure-in-force", "no-day", "flood"],
)
def test_a_plan_that_cannot_run_is_refused_before_anything_is_written(
    tmp_path: Path, plan: DemoPlan, names: str
) -> None:
    app = _app(tmp_path)
    days: list[int] = []
    with pytest.raises(BadDemoPlan, match=names):
        run_demo(app, plan, on_day=lambda done, _: days.append(done))
    assert days == []  # refused up front, not part-way through
    assert app.store.count_dossiers() == 0
    with app.store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.events)).scalar_one() == 0


def test_a_configured_broker_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, secret_key="ab" * 32, broker_url="amqp://guest:guest@127.0.0.1:5672//"
    )
    app = bootstrap(settings)
    with pytest.raises(DemoRefused, match=r"plays every agency itself.*unset LIENTHONG_BROKER_URL"):
        run_demo(app, DemoPlan(days=1, per_day=3))
    assert app.store.count_dossiers() == 0


def test_the_same_demo_on_postgresql_gives_the_same_history(
    demo: tuple[App, DemoSummary, list[Dossier]], pg_database: str, tmp_path: Path
) -> None:
    """The demo through a PostgreSQL store (embedded queue): the same seed gives the same
    dossiers, states and control sheets as on SQLite."""
    _, summary, on_sqlite = demo
    schema = f"demo_{uuid.uuid4().hex[:12]}"
    url = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
    _execute(pg_database, f'CREATE SCHEMA "{schema}"')
    try:
        settings = Settings(
            var_dir=tmp_path, secret_key="ab" * 32, database_url=url.render_as_string(False)
        )
        store = open_store(settings)
        store.upgrade()
        store.close()
        app = bootstrap(settings)
        try:
            again = run_demo(app, PLAN)
            assert again == dataclasses.replace(summary, seconds=again.seconds)
            on_postgres = _dossiers(app)
            assert [_shape(d) for d in on_postgres] == [_shape(d) for d in on_sqlite]
        finally:
            app.store.close()
    finally:
        _execute(pg_database, f'DROP SCHEMA "{schema}" CASCADE')


def _execute(database_url: str, statement: str) -> None:
    admin = make_engine(database_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


def _shape(dossier: Dossier) -> tuple[object, ...]:
    return (dossier.code, dossier.state, dossier.status, dossier.due_at, tuple(dossier.history))
