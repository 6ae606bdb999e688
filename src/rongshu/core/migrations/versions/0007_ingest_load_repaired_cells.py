"""Ingest loads: cells repaired on the way in

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

A load counts the cells of kept rows it had to repair (full-width digits, dates not written
YYYY-MM-DD); the cells themselves are in the resource's ``<code>.repaired`` lake table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_load") as batch:
        batch.add_column(
            sa.Column("cells_repaired", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_load") as batch:
        batch.drop_column("cells_repaired")
