"""The SLA watch: each dossier's step clock and assignee, indexes for the SLA board, and the
alerts' outbox.

Open dossiers stored before this revision get their step's start from their control sheet
(the last row that entered the current step) and their assignee from its last row at the
current agency; their step's due instant is filled in by ``lienthong db upgrade`` from the
catalogue (``SqlStore.backfill_step_clocks``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RUNNING = "NOT closed AND status NOT IN (5, 6)"
PAUSED = "NOT closed AND status IN (5, 6)"
REPEAT = "NOT closed AND supplement_requests > 1"
UNAPOLOGISED = f"{RUNNING} AND due_resets = 0"
BOARD = ["procedure_code", "procedure_version", "step", "agency", "assignee", "due_at"]
INDEXES = (
    ("ix_dossiers_running_board", [*BOARD, "step_due_at"], RUNNING),
    (
        "ix_dossiers_paused_board",
        ["agency", "procedure_code", "procedure_version", "assignee"],
        PAUSED,
    ),
    ("ix_dossiers_running_step_due", ["step_due_at"], RUNNING),
    ("ix_dossiers_running_unapologised_due", ["due_at"], UNAPOLOGISED),
    ("ix_dossiers_open_repeat_supplements", ["agency", "due_at"], REPEAT),
)


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("step_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(128), nullable=True))
    op.execute(
        "UPDATE dossiers SET step_started_at = (SELECT MAX(e.at) FROM events e "
        "WHERE e.dossier_code = dossiers.code AND e.to_step IS NOT NULL "
        "AND (e.step IS NULL OR e.step <> e.to_step OR e.seq = 1)) "
        "WHERE NOT closed AND step IS NOT NULL"
    )
    op.execute(
        "UPDATE dossiers SET assignee = (SELECT e.actor FROM events e "
        "WHERE e.dossier_code = dossiers.code AND e.to_agency = dossiers.agency "
        "AND e.agency = e.to_agency ORDER BY e.seq DESC LIMIT 1) WHERE NOT closed"
    )
    for name, columns, where in INDEXES:
        op.create_index(
            name,
            "dossiers",
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )
    op.create_table(
        "sla_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("standing", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hook", sa.String(64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_alerts")),
        sa.UniqueConstraint(
            "dossier_code",
            "kind",
            "standing",
            "due_at",
            "hook",
            name=op.f("uq_sla_alerts_dossier_code_kind_standing_due_at_hook"),
        ),
    )
    op.create_index(
        "ix_sla_alerts_pending",
        "sla_alerts",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sla_alerts_pending", table_name="sla_alerts")
    op.drop_table("sla_alerts")
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("assignee")
        batch.drop_column("step_due_at")
        batch.drop_column("step_started_at")
