"""Read-only units of work: they see committed dossiers, take no lock (a writer holding
SQLite's write lock does not stop them), and cannot commit."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.store.dossier_queries import last_activity
from adapters.store.store import SqlStore
from tests.conftest import FixedClock
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import StoreError
from workflow.services import Act, Submit, act, submit

PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")


def test_a_reader_sees_what_is_committed_while_a_writer_works(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    code = submit(
        Submit("2.000986", "online", "R", officer, documents=PAPERS), sql.unit_of_work(), engine
    ).code
    with sql.unit_of_work() as writer:  # holds the write lock (SQLite) and an open change
        dossier = writer.dossiers.get(code)
        engine.fire(dossier, "accept", actor=officer)
        with sql.reading() as reader:
            seen = reader.dossiers.get(code)
            assert seen.state == "submitted" and seen.version == 1  # not the uncommitted change
        writer.commit()
    with sql.reading() as reader:
        assert reader.dossiers.get(code).state == "accepted"
    act(Act(code, "hand_over", officer), sql.unit_of_work(), engine)  # writers still work
    with sql.reading() as reader:
        assert reader.dossiers.get(code).version == 3


def test_a_reader_cannot_commit(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    code = submit(
        Submit("2.000986", "online", "R", officer, documents=PAPERS), sql.unit_of_work(), engine
    ).code
    with sql.reading() as reader, pytest.raises(StoreError, match="read-only"):
        engine.fire(reader.dossiers.get(code), "accept", actor=officer)
        reader.commit()
    with sql.reading() as reader:
        assert reader.dossiers.get(code).state == "submitted"


def test_last_activity_is_the_latest_control_sheet_row(
    sql: SqlStore, engine: Engine, officer: Actor, clock: FixedClock
) -> None:
    assert last_activity(sql.engine) is None
    code = submit(
        Submit("2.000986", "online", "R", officer, documents=PAPERS), sql.unit_of_work(), engine
    ).code
    clock.advance(hours=3)
    act(Act(code, "accept", officer), sql.unit_of_work(), engine)
    found = last_activity(sql.engine)
    assert found == clock.now() and found is not None and found.utcoffset() == dt.timedelta(0)
