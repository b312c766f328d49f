"""The tables, as SQLAlchemy Core. Alembic migrations (``migrations/``) create them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


#: how SQLAlchemy's SQLite ``DATETIME`` stores a datetime unless told otherwise
_SQLITE_DATETIME = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)


#: the last two instants :func:`utc_text` converted, each with its text, newest first (at the
#: start, a placeholder no instant is)
_NONE_YET = object()
_RECENT: list[tuple[tuple[object, str], tuple[object, str]]] = [((_NONE_YET, ""), (_NONE_YET, ""))]


def utc_text(value: dt.datetime) -> str:
    """An aware instant as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``: how SQLite stores an
    ``Instant``, and the hash chain's instants (``records``) in ISO form.

    The last two instants converted are remembered by identity (an instant is immutable): an
    action writes its own instant up to five times (its control-sheet row and that row's
    hash, the step's start, an outbox row's creation and first attempt) and its step's due
    instant, and ``isoformat`` costs as much as the rest of a conversion."""
    newest, older = _RECENT[0]  # replaced whole, never changed: safe between threads
    if value is newest[0]:
        return newest[1]
    if value is older[0]:
        return older[1]
    text = value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _RECENT[0] = ((value, text), newest)
    return text


class Instant(TypeDecorator[dt.datetime]):
    """A timezone-aware instant, stored in UTC (SQLite keeps no offsets, so we do it ourselves)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Callable[[dt.datetime | None], Any] | None:
        """:meth:`process_bind_param` then the column type's own processor, as SQLAlchemy
        composes them, except on SQLite with the default storage format: there one call gives
        the same text (``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC) in two thirds of the time (1.8
        against 2.7 µs), and every saved dossier binds several instants (tests compare the two
        on arbitrary instants), the last two remembered (:func:`utc_text`)."""
        impl = self.impl_instance.dialect_impl(dialect)
        if dialect.name != "sqlite" or getattr(impl, "_storage_format", None) != _SQLITE_DATETIME:
            return super().bind_processor(dialect)

        def process(value: dt.datetime | None) -> str | None:
            return None if value is None else utc_text(value)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


RUNNING, PAUSED, CLOSED = 0, 1, 2
"""A dossier's ``lane``: its SLA clock runs (open, waiting for neither a supplement nor a fee),
stands still (open, waiting for the applicant: status 5 or 6), or it is closed.

The SLA board's partial indexes select on the lane rather than on ``status`` and ``closed``.
SQLite rewrites a partial index's entry whenever a column its predicate reads is updated, even
when the entry stays the same; the status changes at almost every step, the lane only when the
clock stops, starts again or the dossier closes. Written by ``records.dossier_row``."""

RUNNING_WHERE = "lane = 0"
"""Open dossiers whose SLA clock runs (lane :data:`RUNNING`).

The predicate of the ``ix_dossiers_running_*`` indexes (the due-ordered ones add the term of
:data:`RUNNING_DUE_WHERE`, which queries need not repeat). Queries repeat it word for word
(``adapters.store.queries``): SQLite uses a partial index only when the query's WHERE clause
contains the index's terms, and PostgreSQL cannot prove a predicate from bound parameters."""

PAUSED_WHERE = "lane = 1"
"""Open dossiers waiting for the applicant (a supplement or a fee): their clock stands still."""

REPEAT_WHERE = "NOT closed AND supplement_requests > 1"
"""Open dossiers asked for a supplement more than once (late by Decision 766's rule)."""

RUNNING_DUE_WHERE = f"{RUNNING_WHERE} AND due_at IS NOT NULL"
"""Running dossiers with a due instant: the predicate of the indexes in due order.

A dossier has no due instant until it is accepted, and its step none before its first step.
Leaving them out of the due-ordered indexes saves the submission an entry in each, and the
acceptance the rewrite of it (migration 0009). Queries need not repeat ``IS NOT NULL``: a
comparison such as ``due_at < :until`` implies it, and both SQLite and PostgreSQL use the index
on that proof."""

RUNNING_STEP_DUE_WHERE = f"{RUNNING_WHERE} AND step_due_at IS NOT NULL"
"""Running dossiers whose current step has a due instant (as :data:`RUNNING_DUE_WHERE`)."""

UNAPOLOGISED_WHERE = f"{RUNNING_DUE_WHERE} AND due_resets = 0"
"""Running dossiers with a due instant that was never reset by an apology (form 04)."""

dossiers = Table(
    "dossiers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("procedure_code", String(32), nullable=False),
    Column("procedure_version", String(32), nullable=False),
    Column("state", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("lane", SmallInteger, nullable=False, server_default="0"),  # RUNNING, PAUSED, CLOSED
    Column("agency", String(32), nullable=False),
    Column("step", String(64)),
    Column("channel", String(16), nullable=False),
    Column("applicant_ref", String(64), nullable=False),
    Column("applicant_key", String(64)),  # keyed pseudonym of the identity number (lookup)
    Column("applicant_secret", Text),  # the identity number, encrypted
    Column("received_at", Instant, nullable=False),
    Column("clock_started_at", Instant),
    Column("due_at", Instant),
    Column("finished_at", Instant),
    Column("verdict", String(16)),
    Column("pauses", JSON, nullable=False),
    Column("due_resets", Integer, nullable=False),
    Column("reset_at", Instant),
    Column("reset_due_at", Instant),
    Column("supplement_requests", Integer, nullable=False),
    Column("fee_due", Integer),
    Column("fee_paid", Boolean, nullable=False),
    Column("result_ref", String(128)),
    Column("result_electronic", Boolean, nullable=False),
    Column("documents", JSON, nullable=False),
    Column("step_started_at", Instant),  # the current step's clock (kept by the engine)
    Column("step_due_at", Instant),
    Column("assignee", String(128)),  # the officer who last acted at the current agency
    Column("head_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Index(  # the agencies with open dossiers and how many each has: the agency alone (0009)
        "ix_dossiers_open_agency",
        "agency",
        postgresql_where=text("NOT closed"),
        sqlite_where=text("NOT closed"),
    ),
    Index(
        "ix_dossiers_running_due",
        "due_at",
        postgresql_where=text(RUNNING_DUE_WHERE),
        sqlite_where=text(RUNNING_DUE_WHERE),
    ),
    Index(
        "ix_dossiers_running_agency_due",
        "agency",
        "due_at",
        postgresql_where=text(RUNNING_DUE_WHERE),
        sqlite_where=text(RUNNING_DUE_WHERE),
    ),
    Index(  # the SLA board: one range of this index per procedure step counts its groups
        "ix_dossiers_running_board",
        "procedure_code",
        "procedure_version",
        "step",
        "agency",
        "assignee",
        "due_at",
        "step_due_at",
        postgresql_where=text(RUNNING_WHERE),
        sqlite_where=text(RUNNING_WHERE),
    ),
    Index(
        "ix_dossiers_paused_board",
        "agency",
        "procedure_code",
        "procedure_version",
        "assignee",
        postgresql_where=text(PAUSED_WHERE),
        sqlite_where=text(PAUSED_WHERE),
    ),
    Index(
        "ix_dossiers_running_step_due",
        "step_due_at",
        postgresql_where=text(RUNNING_STEP_DUE_WHERE),
        sqlite_where=text(RUNNING_STEP_DUE_WHERE),
    ),
    Index(
        "ix_dossiers_running_unapologised_due",
        "due_at",
        postgresql_where=text(UNAPOLOGISED_WHERE),
        sqlite_where=text(UNAPOLOGISED_WHERE),
    ),
    Index(
        "ix_dossiers_open_repeat_supplements",
        "agency",
        "due_at",
        postgresql_where=text(REPEAT_WHERE),
        sqlite_where=text(REPEAT_WHERE),
    ),
    Index(  # the same in due order for every agency (PostgreSQL otherwise walks every open one)
        "ix_dossiers_open_repeat_due",
        "due_at",
        postgresql_where=text(REPEAT_WHERE),
        sqlite_where=text(REPEAT_WHERE),
    ),
    Index("ix_dossiers_procedure", "procedure_code", "procedure_version"),
    Index("ix_dossiers_applicant_key", "applicant_key"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_code", String(64), ForeignKey("dossiers.code"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", Instant, nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("from_state", String(64)),
    Column("to_state", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("actor_agency", String(32), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("step", String(64)),
    Column("to_agency", String(32), nullable=False),
    Column("to_step", String(64)),
    Column("note", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("dossier_code", "seq"),
)

dossier_sequences = Table(
    "dossier_sequences",
    metadata,
    Column("agency", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("dossier_code", String(64), nullable=False),
    Column("from_agency", String(32), nullable=False),
    Column("to_agency", String(32), nullable=False),
    Column("service", String(64), nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Instant),
    Column("published_at", Instant),
    Column("acknowledged_at", Instant),
    Column("undeliverable_at", Instant),
    Index(
        "ix_outbox_pending",
        "next_attempt_at",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
)

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("from_agency", String(32), nullable=False),
    Column("to_agency", String(32), nullable=False),
    Column("received_at", Instant, nullable=False),
    Column("receipt", JSON, nullable=False),
    Column("dossier_code", String(64), nullable=False, server_default=""),
    Column("service", String(64), nullable=False, server_default=""),
    Column("digest", String(64), nullable=False, server_default=""),  # SHA-256 of the envelope
    Index("ix_inbox_dossier", "dossier_code"),
)

agencies = Table(
    "agencies",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("parent", String(32)),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("successor", String(32)),
)

procedure_versions = Table(
    "procedure_versions",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("loaded_at", Instant, nullable=False),
)

submissions = Table(
    "submissions",  # idempotency keys: a caller's retried submission finds its dossier
    metadata,
    Column("caller", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
)

principals = Table(
    "principals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", Instant, nullable=False),
    Column("revoked_at", Instant),
)

ratings = Table(
    "ratings",  # an applicant's rating of a returned dossier (satisfaction, the plan's 95%)
    metadata,
    Column("dossier_code", String(64), ForeignKey("dossiers.code"), primary_key=True),
    Column("rated_at", Instant, nullable=False),
    Column("level", String(16), nullable=False),
    Column("comment", Text),
    Index("ix_ratings_rated_at", "rated_at"),
)

event_logs = Table(
    "event_logs",  # an imported external event log: one row per import
    metadata,
    Column("name", String(64), primary_key=True),
    Column("format", String(8), nullable=False),
    Column("source", Text, nullable=False),  # the file's name, not its path
    Column("sha256", String(64), nullable=False),
    Column("mapping", JSON, nullable=False),
    Column("imported_at", Instant, nullable=False),
    Column("cases", Integer, nullable=False),
    Column("events", Integer, nullable=False),
)

log_cases = Table(
    "log_cases",
    metadata,
    Column("log_name", String(64), ForeignKey("event_logs.name"), primary_key=True),
    Column("case_id", String(128), primary_key=True),
    Column("channel", String(64)),
    Column("deadline", Instant),
)

log_events = Table(
    "log_events",
    metadata,
    Column("log_name", String(64), ForeignKey("event_logs.name"), primary_key=True),
    Column("case_id", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True),  # order within the case: by instant, then file
    Column("activity", Text, nullable=False),
    Column("at", Instant, nullable=False),
    Column("resource", String(128)),
    Column("group", String(128)),
)

sla_alerts = Table(
    "sla_alerts",  # one row per change of standing to alert about, and its delivery (an outbox)
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_code", String(64), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("kind", String(8), nullable=False),  # dossier or step
    Column("standing", String(16), nullable=False),  # at_risk or overdue
    Column("due_at", Instant, nullable=False),  # the due instant the change is about
    Column("hook", String(64), nullable=False),  # the webhook's name
    Column("detected_at", Instant, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Instant),
    Column("delivered_at", Instant),
    Column("failed_at", Instant),
    Column("last_error", Text),
    UniqueConstraint("dossier_code", "kind", "standing", "due_at", "hook"),
    Index(
        "ix_sla_alerts_pending",
        "next_attempt_at",
        postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL"),
        sqlite_where=text("delivered_at IS NULL AND failed_at IS NULL"),
    ),
)
