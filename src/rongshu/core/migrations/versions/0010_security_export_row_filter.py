"""Watermarked exports record the row filter they were read through

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("security_export") as batch:
        batch.add_column(sa.Column("row_filter", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("security_export") as batch:
        batch.drop_column("row_filter")
