"""What only the SQL stores promise: the hash chain, encrypted identities, real concurrency,
migrations that match the tables, frozen procedure versions."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text, update

from adapters.store import tables as t
from adapters.store.database import alembic_config
from adapters.store.dossier_queries import last_activity
from adapters.store.history_queries import load_history
from adapters.store.queries import overdue, per_agency
from adapters.store.sla_board import sla_board
from adapters.store.store import SqlStore
from procedures.calendar_file import load_calendar
from tests.conftest import VN, FixedClock
from workflow.catalogue import Catalogue
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import CatalogueMismatch, ConcurrentUpdate, StaleCopy, TriggerNotAllowed
from workflow.services import Act, Submit, act, retrying, submit

LINKED = "2.000986"
PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")
IDENTITY = "001203000123"


@pytest.fixture
def engine(catalogue: Catalogue) -> Engine:
    return Engine(catalogue, FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN)), load_calendar())


def _new(sql: SqlStore, engine: Engine, officer: Actor, identity: str | None = None) -> str:
    command = Submit(LINKED, "online", "REF", officer, applicant_id=identity, documents=PAPERS)
    return submit(command, sql.unit_of_work(), engine).code


def _walk(sql: SqlStore, engine: Engine, officer: Actor, code: str) -> None:
    for trigger in ("accept", "hand_over", "hand_over"):
        act(Act(code, trigger, officer), sql.unit_of_work(), engine)


def test_migrations_create_exactly_the_tables(sql: SqlStore) -> None:
    with sql.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), t.metadata)
    assert diff == []


def test_audit_chain_intact_then_tampered(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    codes = [_new(sql, engine, officer) for _ in range(3)]
    for code in codes:
        _walk(sql, engine, officer, code)
    report = sql.verify()
    assert (report.dossiers, report.events, report.broken) == (3, 12, None)

    with sql.engine.begin() as connection:  # someone edits a note in the database
        connection.execute(
            update(t.events)
            .where(t.events.c.dossier_code == codes[1], t.events.c.seq == 3)
            .values(note="edited later")
        )
    broken = sql.verify().broken
    assert broken is not None and (broken.dossier, broken.seq) == (codes[1], 3)
    assert "changed after it was written" in broken.reason


def test_audit_finds_a_removed_last_event(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    code = _new(sql, engine, officer)
    _walk(sql, engine, officer, code)
    with sql.engine.begin() as connection:
        connection.execute(
            t.events.delete().where(t.events.c.dossier_code == code, t.events.c.seq == 4)
        )
    broken = sql.verify().broken
    assert broken is not None and broken.dossier == code and broken.seq is None
    assert "last events were removed" in broken.reason


def test_audit_finds_a_removed_middle_event(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    code = _new(sql, engine, officer)
    _walk(sql, engine, officer, code)
    with sql.engine.begin() as connection:
        connection.execute(
            t.events.delete().where(t.events.c.dossier_code == code, t.events.c.seq == 2)
        )
    broken = sql.verify().broken
    assert broken is not None and (broken.seq, broken.reason) == (
        2,
        "missing: found event 3 instead",
    )


def test_identity_numbers_are_never_stored_in_clear(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    code = _new(sql, engine, officer, identity=IDENTITY)
    _walk(sql, engine, officer, code)
    with sql.engine.connect() as connection:
        for table in t.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                assert IDENTITY not in repr(tuple(row)), table.name
        key = connection.execute(select(t.dossiers.c.applicant_key)).scalar_one()
    assert key == sql.keyring.pseudonym(IDENTITY)  # findable by its pseudonym
    with sql.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
    assert dossier.applicant_id == IDENTITY
    assert IDENTITY not in repr(dossier)


def test_a_malformed_identity_number_is_refused_without_echoing_it(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    from workflow.errors import InvalidDossier  # noqa: PLC0415

    with pytest.raises(InvalidDossier) as caught:
        _new(sql, engine, officer, identity="00120300012X")
    assert "9 or 12 digits" in str(caught.value) and "00120300012X" not in str(caught.value)
    assert sql.count_dossiers() == 0


def _threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_submissions_get_unique_gapless_codes(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    codes: list[str] = []

    def work(_: int) -> None:
        for _ in range(5):
            codes.append(retrying(lambda: _new(sql, engine, officer)))

    assert _threads(8, work) == []
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert numbers == list(range(1, 41))
    assert sql.count_dossiers() == 40


def test_concurrent_writers_lose_no_update(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    code = _new(sql, engine, officer)
    for trigger in ("accept", "hand_over"):
        act(Act(code, trigger, officer), sql.unit_of_work(), engine)

    def one_round(index: int) -> None:
        def work() -> None:
            with sql.unit_of_work() as uow:
                dossier = uow.dossiers.get(code)
                engine.fire(dossier, "request_supplement", actor=officer, note=f"writer {index}")
                engine.fire(
                    dossier, "supply", actor=officer, payload={"documents": [f"paper_{index}"]}
                )
                uow.commit()

        retrying(work, attempts=50)

    assert _threads(6, one_round) == []
    with sql.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
    assert {f"paper_{i}" for i in range(6)} <= set(dossier.documents)
    with sql.engine.connect() as connection:
        pauses = connection.execute(select(t.dossiers.c.pauses)).scalar_one()
    assert len(pauses) == 6 and all(end is not None for _, end in pauses)  # each one closed
    assert dossier.supplement_requests == 6
    assert len(dossier.history) == 3 + 12 and dossier.version == 3 + 6
    assert sql.verify().broken is None


def test_a_stored_procedure_version_is_frozen(sql: SqlStore, catalogue: Catalogue) -> None:
    now = dt.datetime(2026, 3, 2, 9, tzinfo=VN)
    first = sql.sync(catalogue, now)
    assert first.new_versions == 20 and first.agencies == 21
    again = sql.sync(catalogue, now)
    assert (again.new_versions, again.known_versions) == (0, 20)
    definition = catalogue.get("1.001193", version="2025")
    changed = definition.model_copy(update={"limit_days": 1.0})
    edited = Catalogue(
        [
            changed,
            *(d for c in catalogue.codes() for d in catalogue.versions(c) if d is not definition),
        ],
        catalogue.agencies,
    )
    with pytest.raises(CatalogueMismatch, match=r"1\.001193@2025 .* give the changed file a new"):
        sql.sync(edited, now)
    with sql.engine.connect() as connection:
        limit = connection.execute(
            text(
                "SELECT definition FROM procedure_versions WHERE code = '1.001193' "
                "AND version = '2025'"
            )
        ).scalar_one()
    assert (limit if isinstance(limit, dict) else __import__("json").loads(limit))[
        "limit_days"
    ] == 0


def test_a_cached_dossier_is_read_again_once_another_process_saved_it(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """The dossier cache answers only after checking the stored version."""
    code = _new(sql, engine, officer)
    other = SqlStore(sql.url, sql.keyring, engine=sql.engine)  # another process: its own cache
    act(Act(code, "accept", officer), sql.unit_of_work(), engine)  # cached here at version 2
    act(Act(code, "hand_over", officer), other.unit_of_work(), engine)  # version 3, elsewhere
    act(Act(code, "hand_over", officer), sql.unit_of_work(), engine)  # must see version 3
    with sql.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
    assert dossier.version == 4
    assert [e.trigger for e in dossier.history] == ["receive", "accept", "hand_over", "hand_over"]
    assert sql.cache.misses >= 1 and sql.cache.hits >= 1
    assert sql.verify().broken is None


def test_an_action_on_a_stale_kept_copy_runs_again_on_the_stored_dossier(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """An action trusts the kept copy without reading the version first; its save's version
    check finds that another process saved the dossier since, and it runs again."""
    code = _new(sql, engine, officer)
    other = SqlStore(sql.url, sql.keyring, engine=sql.engine)  # another process: its own cache
    act(Act(code, "accept", officer), sql.unit_of_work(), engine)  # kept here at version 2
    for trigger in ("hand_over", "hand_over"):
        act(Act(code, trigger, officer), other.unit_of_work(), engine)  # version 4, elsewhere
    with sql.unit_of_work() as uow:  # the unit of work itself: the copy is not the latest
        kept = uow.dossiers.get(code, latest=False)
        assert kept.version == 2
        engine.fire(kept, "hand_over", actor=officer)
        with pytest.raises(StaleCopy, match="not the latest"):
            uow.commit()
    assert sql.cache.get(code) is None  # dropped: the next read is of the stored dossier
    dossier, _ = act(Act(code, "hand_over", officer), sql.unit_of_work(), engine)
    assert dossier.version == 5 and dossier.state == "health_insurance"
    assert [e.trigger for e in dossier.history][-3:] == ["hand_over"] * 3
    assert sql.verify().broken is None


def test_a_refusal_on_a_stale_kept_copy_is_decided_again_on_the_stored_dossier(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """What a stale copy refuses may be allowed by now, and the other way round: the failure is
    confirmed against the stored version before it is reported."""
    code = _new(sql, engine, officer)
    other = SqlStore(sql.url, sql.keyring, engine=sql.engine)
    with sql.unit_of_work() as uow:
        uow.dossiers.get(code)  # kept here at version 1, submitted
    act(Act(code, "accept", officer), other.unit_of_work(), engine)  # accepted elsewhere
    # refused on the kept copy (not accepted yet), allowed on the stored dossier
    dossier, _ = act(Act(code, "hand_over", officer), sql.unit_of_work(), engine)
    assert dossier.state == "birth_registration" and dossier.version == 3
    # allowed on the kept copy, refused on the stored dossier (finished elsewhere)
    for trigger in ("hand_over", "hand_over"):
        act(Act(code, trigger, officer), other.unit_of_work(), engine)
    act(Act(code, "finish", officer, payload={"result": "KQ-1"}), other.unit_of_work(), engine)
    with pytest.raises(TriggerNotAllowed):
        act(Act(code, "hand_over", officer), sql.unit_of_work(), engine)
    with sql.unit_of_work() as uow:
        stored = uow.dossiers.get(code)
    assert stored.state == "finished" and stored.version == 6
    assert sql.cache.misses >= 2
    assert sql.verify().broken is None


def test_an_interrupt_on_a_stale_kept_copy_is_not_run_again(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """An interrupt is not the work's failure: it goes out as it came, without a version read
    that would turn it into a ``StaleCopy`` and run the action again."""
    code = _new(sql, engine, officer)
    other = SqlStore(sql.url, sql.keyring, engine=sql.engine)
    with sql.unit_of_work() as uow:
        uow.dossiers.get(code)  # kept here at version 1
    act(Act(code, "accept", officer), other.unit_of_work(), engine)  # saved elsewhere
    checks = []

    def interrupt(dossier: object) -> None:
        checks.append(dossier)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        act(Act(code, "hand_over", officer), sql.unit_of_work(), engine, check=interrupt)
    assert len(checks) == 1  # not run again
    with sql.unit_of_work() as uow:
        assert uow.dossiers.get(code).version == 2  # nothing written


def test_a_failed_save_leaves_nothing_in_the_cache(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    code = _new(sql, engine, officer)
    act(Act(code, "accept", officer), sql.unit_of_work(), engine)
    with sql.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
        engine.fire(dossier, "hand_over", actor=officer)
        uow.dossiers.tracked[code].version = 1  # as if read before another writer's save
        with pytest.raises(ConcurrentUpdate):
            uow.commit()
    assert sql.cache.get(code) is None
    with sql.unit_of_work() as uow:
        stored = uow.dossiers.get(code)
    assert [e.trigger for e in stored.history] == ["receive", "accept"]
    assert stored.version == 2


def test_changing_a_dossier_after_its_commit_does_not_change_the_cache(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    code = _new(sql, engine, officer)
    with sql.unit_of_work() as uow:
        dossier = uow.dossiers.get(code)
        engine.fire(dossier, "accept", actor=officer)
        uow.commit()
    dossier.state = "scribbled"  # never saved
    dossier.history.clear()
    with sql.unit_of_work() as uow:
        again = uow.dossiers.get(code)
    assert again.state != "scribbled" and len(again.history) == 2
    assert sql.cache.hits >= 1


def test_without_a_cache_every_read_is_from_the_database(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    uncached = SqlStore(sql.url, sql.keyring, engine=sql.engine, cache_size=0)
    code = _new(uncached, engine, officer)
    _walk(uncached, engine, officer, code)
    assert len(uncached.cache) == 0 and uncached.cache.hits == 0
    with uncached.unit_of_work() as uow:
        assert len(uow.dossiers.get(code).history) == 4


def test_reads_take_no_write_lock(sql: SqlStore, engine: Engine, officer: Actor) -> None:
    # a writer in the middle of its transaction (on SQLite it holds the one write lock): every
    # read answers from what is committed and does not queue behind it (a read used to take
    # the write lock, so it waited the busy timeout, then failed; and a long read, such as the
    # metrics' history or an audit, held up every writer while it ran)
    code = _new(sql, engine, officer)
    _walk(sql, engine, officer, code)
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN)
    reads: dict[str, Callable[[], object]] = {
        "count": sql.count_dossiers,
        "audit": lambda: sql.verify().dossiers,
        "last activity": lambda: last_activity(sql.engine) is not None,
        "history": lambda: len(
            load_history(sql.engine, sql.url, engine.calendar, now).cases.case_id
        ),
        "board": lambda: (
            sla_board(
                sql.engine, sql.url, now, engine.catalogue, engine.calendar, engine.policy
            ).dossiers
        ),
    }
    before = {name: read() for name, read in reads.items()}
    with sql.engine.connect() as writer:
        writer.begin()
        writer.execute(t.events.delete())
        writer.execute(t.outbox.delete())
        writer.execute(t.dossiers.delete())
        assert {name: read() for name, read in reads.items()} == before
        writer.rollback()
    assert before["count"] == 1 and before["audit"] == 1 and before["history"] == 1


def test_the_lane_migration_fills_in_every_stored_dossier_and_can_be_undone(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """Revision 0008: each stored dossier's lane from its status and ``closed``; the board's
    indexes select on the lane afterwards, and on status and ``closed`` again once undone."""
    running, paused, closed = (_new(sql, engine, officer) for _ in range(3))
    with sql.engine.begin() as connection:
        connection.execute(update(t.dossiers).where(t.dossiers.c.code == paused).values(status=5))
        connection.execute(
            update(t.dossiers).where(t.dossiers.c.code == closed).values(status=10, closed=True)
        )
    config = alembic_config(sql.engine)
    command.downgrade(config, "0007")
    assert "lane" not in _board_predicates(sql)
    command.upgrade(config, "head")
    with sql.engine.connect() as connection:
        lanes = dict(connection.execute(select(t.dossiers.c.code, t.dossiers.c.lane)).all())
    assert lanes == {running: t.RUNNING, paused: t.PAUSED, closed: t.CLOSED}
    predicates = _board_predicates(sql)
    assert "lane = 0" in predicates and "lane = 1" in predicates and "status" not in predicates
    act(Act(running, "accept", officer), sql.unit_of_work(), engine)  # the store writes it
    with sql.engine.connect() as connection:
        assert (
            connection.execute(
                select(t.dossiers.c.lane).where(t.dossiers.c.code == running)
            ).scalar_one()
            == t.RUNNING
        )


def test_the_due_indexes_leave_out_dossiers_without_a_due_instant_and_can_be_undone(
    sql: SqlStore, engine: Engine, officer: Actor
) -> None:
    """Revision 0009: the due-ordered indexes hold only dossiers with a due instant, the open
    dossiers' index holds the agency alone, and the unread one in due order is gone; undone,
    the indexes of 0008 come back. The SLA queries answer the same either way."""
    submitted, accepted = _new(sql, engine, officer), _new(sql, engine, officer)
    act(Act(accepted, "accept", officer), sql.unit_of_work(), engine)
    later = dt.datetime(2027, 3, 2, 9, 0, tzinfo=VN)  # long after the return date

    def answers() -> tuple[object, ...]:
        return (
            [d.code for d in overdue(sql, later).rows],
            [(a.agency, a.open, a.overdue) for a in per_agency(sql, later, later, with_open=True)],
        )

    assert answers() == ([accepted], [(officer.agency, 2, 1)])
    definitions = _index_definitions(sql)
    assert set(definitions) >= {"ix_dossiers_open_agency", "ix_dossiers_running_step_due"}
    assert not {"ix_dossiers_open_due", "ix_dossiers_open_agency_due"} & set(definitions)
    for name in DUE_INDEXES:
        assert "due_at is not null" in definitions[name], definitions[name]
    config = alembic_config(sql.engine)
    command.downgrade(config, "0008")
    undone = _index_definitions(sql)
    assert {"ix_dossiers_open_due", "ix_dossiers_open_agency_due"} <= set(undone)
    assert "ix_dossiers_open_agency" not in undone
    assert not any("is not null" in undone[name] for name in DUE_INDEXES)
    assert answers() == ([accepted], [(officer.agency, 2, 1)])
    command.upgrade(config, "head")
    assert _index_definitions(sql) == definitions
    assert submitted not in answers()[0]


DUE_INDEXES = (
    "ix_dossiers_running_due",
    "ix_dossiers_running_agency_due",
    "ix_dossiers_running_step_due",
    "ix_dossiers_running_unapologised_due",
)


def _index_definitions(sql: SqlStore) -> dict[str, str]:
    """Each index on ``dossiers`` by name: its definition, lower case."""
    with sql.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            found = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'dossiers' AND sql IS NOT NULL"
                )
            )
        else:
            found = connection.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dossiers'")
            )
        return {name: definition.lower() for name, definition in found.all()}


def _board_predicates(sql: SqlStore) -> str:
    """The definitions of the running and paused indexes on ``dossiers``, lower case."""
    with sql.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            found = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE :n"),
                {"n": "ix_dossiers_%"},
            )
        else:
            found = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname LIKE :n"),
                {"n": "ix_dossiers_%"},
            )
        kept = [d for d in found.scalars() if d and ("running" in d or "paused" in d)]
    assert len(kept) == 6, kept
    return " ".join(kept).lower().replace("(", "").replace(")", "")
