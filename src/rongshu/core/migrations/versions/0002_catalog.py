"""Data-resource catalog

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The data-resource catalog: resources (working copies), published versions, history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("catalog_type", sa.String(length=16), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("field_count", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_catalog_resource_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_resource")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_resource_code")),
    )
    with op.batch_alter_table("catalog_resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_resource_department_status", ["department_id", "status"], unique=False
        )
        batch_op.create_index("ix_catalog_resource_status", ["status"], unique=False)

    op.create_table(
        "catalog_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status_from", sa.String(length=16), nullable=False),
        sa.Column("status_to", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_catalog_event_resource_id_catalog_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_event")),
    )
    with op.batch_alter_table("catalog_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_event_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_catalog_version_resource_id_catalog_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
        sa.UniqueConstraint("resource_id", "version", name=op.f("uq_catalog_version_resource_id")),
    )
    with op.batch_alter_table("catalog_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_version_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    # Dropping a table drops its indexes (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("catalog_version")
    op.drop_table("catalog_event")
    op.drop_table("catalog_resource")
