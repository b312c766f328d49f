"""The column types' own conversions: ``Instant``'s one-step SQLite processor stores exactly the
text SQLAlchemy's composition (``process_bind_param``, then ``DATETIME``'s processor) stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from adapters.store.tables import Instant

SQLITE = sqlite.dialect()

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=offsets
)


def _composed(value: dt.datetime | None, dialect: Any) -> Any:
    """What SQLAlchemy's ``TypeDecorator`` binds for ``Instant`` without the override."""
    process = TypeDecorator.bind_processor(Instant().dialect_impl(dialect), dialect)
    assert process is not None
    return process(value)


def _fast(value: dt.datetime | None, dialect: Any) -> Any:
    process = Instant().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    return process(value)


@given(instants)
def test_sqlite_instants_are_stored_as_sqlalchemy_would_store_them(value: dt.datetime) -> None:
    stored = _fast(value, SQLITE)
    assert stored == _composed(value, SQLITE)
    assert len(stored) == len("2026-03-02 02:00:00.000000")  # microseconds even when zero


def test_the_one_step_processor_keeps_nulls_and_utc_text() -> None:
    vietnam = dt.timezone(dt.timedelta(hours=7))
    assert _fast(None, SQLITE) is None
    assert _fast(dt.datetime(2026, 3, 2, 9, tzinfo=vietnam), SQLITE) == "2026-03-02 02:00:00.000000"


def test_postgresql_and_other_storage_formats_keep_sqlalchemys_composition() -> None:
    pg = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert _fast(at, pg) == _composed(at, pg) == at.astimezone(dt.UTC)
    custom = Instant()
    custom.impl_instance = sqlite.DATETIME(
        timezone=True, storage_format="%(year)04d/%(month)02d/%(day)02d %(hour)02d:%(minute)02d"
    )
    process = custom.bind_processor(SQLITE)
    assert process is not None
    assert process(at) == "2026/03/02 02:30"


@given(st.lists(instants, min_size=1, max_size=8), st.lists(st.integers(0, 7), max_size=40))
def test_instants_bound_again_give_the_same_text_whatever_came_between(
    values: list[dt.datetime], order: list[int]
) -> None:
    """The processors remember the last instants they converted: an instant bound again (the
    same object, or an equal one), in any order and by any column, gives its own text."""
    processors = [Instant().dialect_impl(SQLITE).bind_processor(SQLITE) for _ in range(2)]
    for turn, index in enumerate([*range(len(values)), *order]):
        value = values[index % len(values)]
        process = processors[turn % 2]
        assert process is not None
        assert process(value) == _composed(value, SQLITE)
        assert process(value.replace()) == _composed(value, SQLITE)  # an equal, other object
