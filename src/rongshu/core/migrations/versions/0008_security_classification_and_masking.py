"""Data security: PII scans, field classifications, the masking matrix, watermarked exports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_scan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("rows_scanned", sa.BigInteger(), nullable=False),
        sa.Column("rows_in_version", sa.BigInteger(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("suggested_grade", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("scanned_by", sa.String(64), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "security_field_classification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("column_name", sa.String(100), nullable=False),
        sa.Column("field_label", sa.String(100), nullable=False),
        sa.Column("scan_id", sa.Integer(), sa.ForeignKey("security_scan.id"), nullable=False),
        sa.Column("entity", sa.String(32)),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("suggested_grade", sa.String(16), nullable=False),
        sa.Column("suggested_personal", sa.Boolean(), nullable=False),
        sa.Column("suggested_sensitive", sa.Boolean(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_entity", sa.String(32)),
        sa.Column("decided_grade", sa.String(16)),
        sa.Column("decided_personal", sa.Boolean()),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("resource_code", "column_name"),
    )
    op.create_table(
        "security_masking_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("target", sa.String(48), nullable=False),
        sa.Column("operator", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("profile", "target"),
    )

    op.create_table(
        "security_export",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("masks", sa.JSON(), nullable=False),
        sa.Column("key_columns", sa.JSON(), nullable=False),
        sa.Column("markable", sa.JSON(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("max_relative_change", sa.Float(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("cells_changed", sa.BigInteger(), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("security_export")
    op.drop_table("security_masking_rule")
    op.drop_table("security_field_classification")
    op.drop_table("security_scan")
