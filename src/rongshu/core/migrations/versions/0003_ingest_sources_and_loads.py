"""Ingest sources and loads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Aggregation: the sources attached to catalog resources (credentials SM4-GCM encrypted) and
the record of every load.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("watermark_column", sa.String(length=100), nullable=True),
        sa.Column("last_watermark", sa.String(length=100), nullable=True),
        sa.Column("key_fields", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_source")),
        sa.UniqueConstraint("resource_code", "name", name=op.f("uq_ingest_source_resource_code")),
    )
    with op.batch_alter_table("ingest_source", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_source_department_code"), ["department_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ingest_source_resource_code"), ["resource_code"], unique=False
        )

    op.create_table(
        "ingest_load",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("triggered_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ingest_source.id"],
            name=op.f("fk_ingest_load_source_id_ingest_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_load")),
    )
    with op.batch_alter_table("ingest_load", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ingest_load_department_started", ["department_code", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_ingest_load_source_started", ["source_id", "started_at"], unique=False
        )


def downgrade() -> None:
    # Dropping a table drops its indexes (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("ingest_load")
    op.drop_table("ingest_source")
