"""Applicants' ratings, and imported external event logs (metrics and the scorecard).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dossier_code"], ["dossiers.code"], name=op.f("fk_ratings_dossier_code_dossiers")
        ),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_ratings")),
    )
    op.create_index(op.f("ix_ratings_rated_at"), "ratings", ["rated_at"])
    op.create_table(
        "event_logs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_logs")),
    )
    op.create_table(
        "log_cases",
        sa.Column("log_name", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["log_name"], ["event_logs.name"], name=op.f("fk_log_cases_log_name_event_logs")
        ),
        sa.PrimaryKeyConstraint("log_name", "case_id", name=op.f("pk_log_cases")),
    )
    op.create_table(
        "log_events",
        sa.Column("log_name", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource", sa.String(128), nullable=True),
        sa.Column("group", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["log_name"], ["event_logs.name"], name=op.f("fk_log_events_log_name_event_logs")
        ),
        sa.PrimaryKeyConstraint("log_name", "case_id", "seq", name=op.f("pk_log_events")),
    )


def downgrade() -> None:
    op.drop_table("log_events")
    op.drop_table("log_cases")
    op.drop_table("event_logs")
    op.drop_index(op.f("ix_ratings_rated_at"), table_name="ratings")
    op.drop_table("ratings")
