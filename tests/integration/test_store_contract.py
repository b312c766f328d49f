"""One contract, every backend: in memory, SQLite, PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from tests.integration.conftest import Backend
from workflow.catalogue import Catalogue
from workflow.definition import NationalStatus
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import ConcurrentUpdate, DossierNotFound, TriggerNotAllowed
from workflow.messages import messages_for
from workflow.services import Act, Submit, act, retrying, submit

LINKED = "2.000986"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
WARD = "000.00.71.H26"


@pytest.fixture
def engine(catalogue: Catalogue) -> Engine:
    return Engine(catalogue, FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN)), load_calendar())


def _submit(backend: Backend, engine: Engine, officer: Actor, **extra: object) -> str:
    command = Submit(
        procedure=LINKED,
        channel="online",
        applicant_ref="REF-1",
        actor=officer,
        documents=PAPERS,
        **extra,
    )  # type: ignore[arg-type]
    return submit(command, backend.uow(), engine).code


def test_submitted_dossier_round_trips(backend: Backend, engine: Engine, officer: Actor) -> None:
    code = _submit(backend, engine, officer, applicant_id="001203000123")
    assert code == f"{WARD}-260302-0001"
    dossier, _ = act(Act(code, "accept", officer), backend.uow(), engine)
    with backend.uow() as uow:
        stored = uow.dossiers.get(code)
    assert stored.version == dossier.version == 2
    assert stored.state == "accepted" and stored.status is NationalStatus.ACCEPTED
    assert stored.due_at == dt.datetime(2026, 3, 5, 9, tzinfo=VN)
    assert stored.clock_started_at == dt.datetime(2026, 3, 2, 9, tzinfo=VN)
    assert stored.received_at == dossier.received_at
    assert stored.documents == PAPERS
    assert stored.applicant_id == "001203000123"
    assert [e.trigger for e in stored.history] == ["receive", "accept"]
    assert stored.history == dossier.history


def test_codes_are_sequential_per_agency_and_day(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    codes = [_submit(backend, engine, officer) for _ in range(3)]
    assert codes == [f"{WARD}-260302-{n:04d}" for n in (1, 2, 3)]
    later = _submit(backend, engine, officer, received_at=dt.datetime(2026, 3, 3, 8, 5, tzinfo=VN))
    assert later == f"{WARD}-260303-0001"
    counter = _submit(
        backend, engine, officer, received_at=dt.datetime(2026, 3, 3, 23, 30, tzinfo=dt.UTC)
    )  # 06:30 on 4th
    assert counter == f"{WARD}-260304-0001"


def test_nothing_is_written_without_commit(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    with pytest.raises(RuntimeError), backend.uow() as uow:
        code = uow.next_code(WARD, dt.date(2026, 3, 2))
        dossier = engine.open(
            code=code, procedure=LINKED, channel="online", applicant_ref="R", actor=officer
        )
        uow.dossiers.add(dossier)
        raise RuntimeError("the submitting system crashed")
    with backend.uow() as uow, pytest.raises(DossierNotFound, match="no dossier with code"):
        uow.dossiers.get(f"{WARD}-260302-0001")
    # the rolled-back code is not lost: no gap
    assert _submit(backend, engine, officer) == f"{WARD}-260302-0001"


def test_a_failed_trigger_writes_nothing(backend: Backend, engine: Engine, officer: Actor) -> None:
    code = _submit(backend, engine, officer)
    with pytest.raises(TriggerNotAllowed):
        act(Act(code, "finish", officer), backend.uow(), engine)
    with backend.uow() as uow:
        stored = uow.dossiers.get(code)
    assert stored.version == 1 and len(stored.history) == 1


def test_stale_expected_version_is_a_conflict(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    code = _submit(backend, engine, officer)
    act(Act(code, "accept", officer, expected_version=1), backend.uow(), engine)
    with pytest.raises(ConcurrentUpdate, match="at version 2, not the expected 1"):
        act(Act(code, "hand_over", officer, expected_version=1), backend.uow(), engine)


def test_two_writers_one_wins_the_other_retries(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    if backend.name == "sqlite":
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the second writer queues behind
        # the first and then sees its change, so no update is lost either
        _sqlite_writers_queue(backend, engine, officer)
        return
    code = _submit(backend, engine, officer)
    act(Act(code, "accept", officer), backend.uow(), engine)
    act(Act(code, "hand_over", officer), backend.uow(), engine)
    first, second = backend.uow(), backend.uow()
    with first:
        mine = first.dossiers.get(code)
        engine.fire(mine, "request_supplement", actor=officer, note="first writer")
        with second:
            theirs = second.dossiers.get(code)
            engine.fire(theirs, "hand_over", actor=officer)
            second.commit()
        with pytest.raises(ConcurrentUpdate, match="another writer"):
            first.commit()
    with backend.uow() as uow:
        stored = uow.dossiers.get(code)
    assert stored.state == "residence_registration" and stored.version == 4
    # the loser retries on fresh data: no update is lost
    retrying(
        lambda: act(Act(code, "request_supplement", officer, note="retry"), backend.uow(), engine)
    )
    with backend.uow() as uow:
        stored = uow.dossiers.get(code)
    assert [e.trigger for e in stored.history][-2:] == ["hand_over", "request_supplement"]
    assert stored.version == 5


def test_a_writer_that_read_an_old_version_is_refused(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    """The API's case: read in one request, act in another with the version read."""
    code = _submit(backend, engine, officer)
    with backend.uow() as uow:
        seen = uow.dossiers.get(code).version
    act(Act(code, "accept", officer), backend.uow(), engine)  # someone else acts first
    with pytest.raises(ConcurrentUpdate, match="reload it"):
        act(Act(code, "refuse", officer, note="x", expected_version=seen), backend.uow(), engine)
    with backend.uow() as uow:
        assert uow.dossiers.get(code).state == "accepted"


def test_reading_without_change_does_not_bump_the_version(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    code = _submit(backend, engine, officer)
    with backend.uow() as uow:
        uow.dossiers.get(code)
        uow.commit()
    with backend.uow() as uow:
        assert uow.dossiers.get(code).version == 1


def test_unknown_dossier(backend: Backend) -> None:
    with backend.uow() as uow, pytest.raises(DossierNotFound, match="'nope'"):
        uow.dossiers.get("nope")


def _sqlite_writers_queue(backend: Backend, engine: Engine, officer: Actor) -> None:
    code = _submit(backend, engine, officer)
    act(Act(code, "accept", officer), backend.uow(), engine)
    first_has_read = threading.Event()
    order: list[str] = []

    def first() -> None:
        with backend.uow() as uow:
            dossier = uow.dossiers.get(code)
            first_has_read.set()
            time.sleep(0.3)  # the second writer tries meanwhile, and must wait
            engine.fire(dossier, "hand_over", actor=officer)
            order.append("first")  # while it still holds the write lock
            uow.commit()

    def second() -> None:
        first_has_read.wait()
        with backend.uow() as uow:
            dossier = uow.dossiers.get(code)  # sees the first writer's change
            order.append(f"second saw {dossier.state}")
            engine.fire(dossier, "hand_over", actor=officer)
            uow.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert order == ["first", "second saw birth_registration"]
    with backend.uow() as uow:
        assert uow.dossiers.get(code).state == "residence_registration"


POLICE, INSURANCE = "000.09.71.H26", "000.08.71.H26"


def test_hand_overs_put_messages_in_the_outbox_with_the_change(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    code = _submit(backend, engine, officer)
    for trigger in ("accept", "hand_over"):
        act(Act(code, trigger, officer), backend.uow(), engine)
    assert backend.outbox() == []  # still at the ward: nothing to send
    act(Act(code, "hand_over", officer), backend.uow(), engine)  # ward -> police
    act(Act(code, "request_supplement", officer, note="x"), backend.uow(), engine)
    act(Act(code, "supply", officer), backend.uow(), engine)
    act(Act(code, "hand_over", officer), backend.uow(), engine)  # police -> insurance
    act(Act(code, "finish", officer, payload={"result": "KQ"}), backend.uow(), engine)
    assert backend.outbox() == [
        (code, WARD, POLICE, "handover"),
        (code, POLICE, WARD, "supplement_request"),
        (code, POLICE, INSURANCE, "handover"),
        (code, INSURANCE, WARD, "result"),
    ]


def test_no_message_without_the_change(backend: Backend, engine: Engine, officer: Actor) -> None:
    code = _submit(backend, engine, officer)
    for trigger in ("accept", "hand_over"):
        act(Act(code, trigger, officer), backend.uow(), engine)
    with pytest.raises(RuntimeError), backend.uow() as uow:
        dossier = uow.dossiers.get(code)
        engine.fire(dossier, "hand_over", actor=officer)
        for message in messages_for(dossier, dossier.history[-1], WARD):
            uow.outbox.add(message)
        raise RuntimeError("crash before commit")
    assert backend.outbox() == []
    with backend.uow() as uow:
        assert uow.dossiers.get(code).state == "birth_registration"
