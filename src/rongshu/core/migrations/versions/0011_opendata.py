"""Open-data portal: datasets and releases, public accounts and one-time codes, comments,
data requests, showcase

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "opendata_dataset",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("resource_code", sa.String(64), nullable=False, unique=True),
        sa.Column("owner_department", sa.String(32), nullable=False, index=True),
        sa.Column("access", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("theme", sa.String(32), nullable=False),
        sa.Column("licence", sa.String(32), nullable=False),
        sa.Column("temporal_start", sa.Date()),
        sa.Column("temporal_end", sa.Date()),
        sa.Column("spatial", sa.String(100), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("quasi_identifiers", sa.JSON(), nullable=False),
        sa.Column("k_anonymity", sa.Integer(), nullable=False),
        sa.Column("masking_profile", sa.String(16), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "opendata_release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("opendata_dataset.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("lake_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("suppressed_rows", sa.BigInteger(), nullable=False),
        sa.Column("dropped_rows", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("dataset_id", "lake_version"),
    )
    op.create_table(
        "opendata_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("contact", sa.String(200), nullable=False, unique=True),
        sa.Column("contact_kind", sa.String(8), nullable=False),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("app.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "opendata_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contact", sa.String(200), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
    )
    op.create_table(
        "opendata_comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("opendata_dataset.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("rating", sa.Integer()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_opendata_comment_dataset_created", "opendata_comment", ["dataset_id", "created_at"]
    )
    op.create_table(
        "opendata_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False, index=True),
        sa.Column("requester_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("requester", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("answered_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "opendata_showcase",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("submitter", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "opendata_showcase",
        "opendata_request",
        "opendata_comment",
        "opendata_code",
        "opendata_account",
        "opendata_release",
        "opendata_dataset",
    ):
        op.drop_table(table)
