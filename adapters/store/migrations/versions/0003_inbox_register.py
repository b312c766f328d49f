"""The inbox as the register of received messages: which dossier, which service, and a digest of
the envelope, so that an exact copy is told from a reused message id (a replay).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(
            sa.Column("dossier_code", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("service", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("digest", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_inbox_dossier", "inbox", ["dossier_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_dossier", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("digest")
        batch.drop_column("service")
        batch.drop_column("dossier_code")
