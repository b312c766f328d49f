"""The dossier's lane (its SLA clock runs, stands still, or it is closed), read by the SLA
board's partial indexes instead of ``status`` and ``closed``.

SQLite rewrites a partial index's entry whenever a column its predicate reads is updated; the
status changes at almost every step, so a step rewrote up to six unchanged board entries. The
lane changes only when a clock stops, starts again or a dossier closes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_RUNNING = "NOT closed AND status NOT IN (5, 6)"
OLD_PAUSED = "NOT closed AND status IN (5, 6)"
RUNNING, PAUSED = "lane = 0", "lane = 1"
BOARD = ["procedure_code", "procedure_version", "step", "agency", "assignee", "due_at"]
#: name, columns, predicate before, predicate now
INDEXES = (
    ("ix_dossiers_running_due", ["due_at"], OLD_RUNNING, RUNNING),
    ("ix_dossiers_running_agency_due", ["agency", "due_at"], OLD_RUNNING, RUNNING),
    ("ix_dossiers_running_board", [*BOARD, "step_due_at"], OLD_RUNNING, RUNNING),
    (
        "ix_dossiers_paused_board",
        ["agency", "procedure_code", "procedure_version", "assignee"],
        OLD_PAUSED,
        PAUSED,
    ),
    ("ix_dossiers_running_step_due", ["step_due_at"], OLD_RUNNING, RUNNING),
    (
        "ix_dossiers_running_unapologised_due",
        ["due_at"],
        f"{OLD_RUNNING} AND due_resets = 0",
        f"{RUNNING} AND due_resets = 0",
    ),
)


def _recreate(name: str, columns: list[str], where: str) -> None:
    op.drop_index(name, table_name="dossiers")
    op.create_index(
        name, "dossiers", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


def upgrade() -> None:
    op.add_column(
        "dossiers", sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE dossiers SET lane = CASE WHEN closed THEN 2 WHEN status IN (5, 6) THEN 1 ELSE 0 END"
    )
    for name, columns, _, where in INDEXES:
        _recreate(name, columns, where)


def downgrade() -> None:
    for name, columns, where, _ in INDEXES:
        _recreate(name, columns, where)
    # SQLite drops a column in place (3.35 and later); batch mode would copy the table, which
    # SQLite refuses while control-sheet rows refer to it
    op.drop_column("dossiers", "lane")
