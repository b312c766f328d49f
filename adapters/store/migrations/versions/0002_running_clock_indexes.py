"""Running-clock indexes for the SLA queries: open dossiers that wait for neither a supplement
nor a fee (status 5, 6), by due instant, and by agency then due instant.

Counting overdue or due-soon dossiers then reads an index range and nothing else; with the
``NOT closed`` indexes alone, each entry of the range needs a table lookup for its status.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:02:38.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RUNNING = "NOT closed AND status NOT IN (5, 6)"


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_running_due",
        "dossiers",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )
    op.create_index(
        "ix_dossiers_running_agency_due",
        "dossiers",
        ["agency", "due_at"],
        unique=False,
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_running_agency_due", table_name="dossiers")
    op.drop_index("ix_dossiers_running_due", table_name="dossiers")
