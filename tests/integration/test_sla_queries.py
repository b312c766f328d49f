"""The SLA queries on SQLite and PostgreSQL: exact rows and counts over a handful of dossiers,
the indexes they read, and a smoke run of their benchmark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from adapters.store import tables as t
from adapters.store.pii import Keyring
from adapters.store.queries import (
    AgencyLoad,
    DuePage,
    count_query,
    due_soon,
    overdue,
    page_query,
    per_agency,
    per_agency_query,
    plan,
    window,
)
from adapters.store.records import lane
from adapters.store.store import SqlStore
from benchmarks import bench_sla_queries
from benchmarks.bench_sla_queries import full_scans, indexes_used
from workflow.definition import NationalStatus
from workflow.errors import NaiveDatetime, StoreUnavailable

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
UNTIL = NOW + dt.timedelta(days=2)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
# code: (agency, due_at, status, closed)
DOSSIERS: dict[str, tuple[str, dt.datetime | None, int, bool]] = {
    "A1": ("A", NOW - 3 * DAY, 4, False),  # overdue
    "A2": ("A", NOW - HOUR, 2, False),  # overdue
    "A3": ("A", NOW - 2 * DAY, 5, False),  # paused (supplement): not overdue
    "A4": ("A", NOW - 5 * DAY, 10, True),  # closed
    "A5": ("A", NOW, 4, False),  # due soon (the window includes now)
    "A6": ("A", NOW + DAY, 4, False),  # due soon
    "A7": ("A", UNTIL, 4, False),  # due after the window (it excludes until)
    "A8": ("A", NOW + DAY, 6, False),  # paused (fee): not due soon
    "A9": ("A", None, 1, False),  # not accepted yet: no due instant
    "B1": ("B", NOW - 10 * DAY, 4, False),  # overdue, the earliest
    "B2": ("B", NOW + HOUR, 4, False),  # due soon
    "B3": ("B", NOW + DAY, 9, True),  # closed
    "C1": ("C", NOW - DAY, 10, True),  # closed: C has no open dossier
    "A10": ("A", NOW + HOUR, 4, False),  # due with B2, stored after it: ties go by code
}


def _row(code: str) -> dict[str, Any]:
    agency, due, status, closed = DOSSIERS[code]
    return {
        "code": code,
        "procedure_code": "1.001193",
        "procedure_version": "2025",
        "state": "closed" if closed else "processing",
        "status": status,
        "closed": closed,
        "lane": lane(status, closed=closed),
        "agency": agency,
        "step": f"step-{code}",
        "channel": "online",
        "applicant_ref": "REF",
        "received_at": NOW - 20 * DAY,
        "due_at": due,
        "pauses": [],
        "due_resets": 0,
        "supplement_requests": 0,
        "fee_paid": False,
        "result_electronic": False,
        "documents": [],
        "head_hash": "0" * 64,
        "version": 1,
    }


@pytest.fixture
def store(sql: SqlStore) -> SqlStore:
    with sql.engine.begin() as connection:
        connection.execute(insert(t.dossiers), [_row(code) for code in DOSSIERS])
    return sql


def _codes(page: DuePage) -> list[str]:
    return [row.code for row in page.rows]


def test_overdue_excludes_paused_and_closed_earliest_first(store: SqlStore) -> None:
    page = overdue(store, NOW)
    assert (_codes(page), page.total) == (["B1", "A1", "A2"], 3)
    first = page.rows[0]
    assert (first.procedure_code, first.agency, first.step) == ("1.001193", "B", "step-B1")
    assert (first.status, first.due_at) == (NationalStatus.PROCESSING, NOW - 10 * DAY)
    assert first.due_at.tzinfo is not None


def test_overdue_limit_and_agency(store: SqlStore) -> None:
    limited = overdue(store, NOW, limit=2)
    assert (_codes(limited), limited.total) == (["B1", "A1"], 3)
    assert overdue(store, NOW, limit=0) == DuePage((), 3)
    of_a = overdue(store, NOW, agency="A")
    assert (_codes(of_a), of_a.total) == (["A1", "A2"], 2)
    assert overdue(store, NOW, agency="C") == DuePage((), 0)


def test_due_soon_window_is_now_inclusive_until_exclusive(store: SqlStore) -> None:
    page = due_soon(store, NOW, UNTIL)
    assert (_codes(page), page.total) == (["A5", "A10", "B2", "A6"], 4)
    of_b = due_soon(store, NOW, UNTIL, agency="B", limit=5)
    assert (_codes(of_b), of_b.total) == (["B2"], 1)
    one = due_soon(store, NOW, UNTIL, limit=1)
    assert (_codes(one), one.total) == (["A5"], 4)


def test_per_agency_counts(store: SqlStore) -> None:
    assert per_agency(store, NOW, UNTIL, with_open=True) == (
        AgencyLoad("A", open=9, overdue=2, due_soon=3),
        AgencyLoad("B", open=2, overdue=1, due_soon=1),
    )
    assert per_agency(store, NOW, UNTIL) == (
        AgencyLoad("A", open=None, overdue=2, due_soon=3),
        AgencyLoad("B", open=None, overdue=1, due_soon=1),
    )


def test_queries_read_through_a_callers_connection(store: SqlStore) -> None:
    with store.engine.connect() as connection:
        assert overdue(connection, NOW).total == 3
        assert due_soon(connection, NOW, UNTIL, agency="A").total == 3
        assert len(per_agency(connection, NOW, UNTIL)) == 2


def test_empty_store(sql: SqlStore) -> None:
    assert overdue(sql, NOW) == DuePage((), 0)
    assert due_soon(sql, NOW, UNTIL) == DuePage((), 0)
    assert per_agency(sql, NOW, UNTIL) == ()


def test_bad_arguments(sql: SqlStore) -> None:
    with pytest.raises(NaiveDatetime):
        overdue(sql, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="limit"):
        due_soon(sql, NOW, UNTIL, limit=-1)


RUNNING_INDEXES = {  # every partial index on running clocks (the SLA board's among them)
    "ix_dossiers_running_due",
    "ix_dossiers_running_agency_due",
    "ix_dossiers_running_board",
    "ix_dossiers_running_unapologised_due",
    "ix_dossiers_running_step_due",
}


def test_every_query_reads_a_running_clock_index(sql: SqlStore) -> None:
    """The running-clock predicate matches the partial indexes' (so the planners may use them);
    which of them a planner picks depends on the table's statistics."""
    statements = {
        "overdue page": page_query(window(None, NOW), 100),
        "due soon count": count_query(window(NOW, UNTIL)),
        "agency page": page_query(window(None, NOW, "A"), 100),
        "agency count": count_query(window(NOW, UNTIL, "A")),
        "per agency": per_agency_query(NOW, UNTIL),
    }
    with sql.engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # a tiny table: make scans look dear
            connection.execute(text("SET enable_seqscan = off"))
        for name, statement in statements.items():
            lines = plan(connection, statement)
            assert indexes_used(lines) & RUNNING_INDEXES, (name, lines)
            assert full_scans(lines) == [], (name, lines)
        lines = plan(connection, statements["per agency"])
        assert "ix_dossiers_open_agency" in indexes_used(lines), lines


def test_translates_driver_errors(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.sqlite3'}", Keyring(bytes(32)))  # no schema
    try:
        with pytest.raises(StoreUnavailable, match="no such table"):
            overdue(store, NOW)
    finally:
        store.close()


def test_benchmark_runs_on_sqlite() -> None:
    timings = bench_sla_queries.run(2_000, backends=("sqlite",), runs=2)
    assert [timing.query for timing in timings] == list(bench_sla_queries.QUERIES)
    assert all(timing.backend == "sqlite" and timing.indexes for timing in timings)
    assert "| sqlite |" in bench_sla_queries.table(timings)
