"""Open dossiers asked for a supplement more than once, in due order for every agency: the SLA
board's list of them read the whole open-dossier index on PostgreSQL without it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

REPEAT = "NOT closed AND supplement_requests > 1"


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_open_repeat_due",
        "dossiers",
        ["due_at"],
        postgresql_where=sa.text(REPEAT),
        sqlite_where=sa.text(REPEAT),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_open_repeat_due", table_name="dossiers")
