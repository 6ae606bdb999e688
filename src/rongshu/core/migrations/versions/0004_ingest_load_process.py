"""Ingest loads: the process that runs them and the attempt

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A load records the host and process id running it, so a load whose process died (killed, power
loss) is found and marked interrupted instead of showing "running" forever, and which attempt of
a retried scheduled load it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_load") as batch:
        batch.add_column(
            sa.Column("host", sa.String(length=255), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("ingest_load") as batch:
        batch.drop_column("attempt")
        batch.drop_column("pid")
        batch.drop_column("host")
