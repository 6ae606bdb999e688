"""Data sharing and exchange: services, applications, grants, subscriptions, nonces, usage;
API keys gain a sealed signing secret

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("signing_secret", sa.String(200)))
    op.create_table(
        "exchange_service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(80), nullable=False, unique=True),
        sa.Column("resource_code", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("key_columns", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.UniqueConstraint("resource_code", "kind"),
    )
    op.create_table(
        "exchange_application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("exchange_service.id"), nullable=False),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("app.id"), nullable=False),
        sa.Column("applicant", sa.String(64), nullable=False),
        sa.Column("consumer_department", sa.String(32), nullable=False),
        sa.Column("owner_department", sa.String(32), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("expected_daily_calls", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("masking_profile", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", TS),
        sa.Column("escalated_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("grant_id", sa.Integer()),
    )
    for column in ("service_id", "app_id", "consumer_department", "owner_department", "state"):
        op.create_index(f"ix_exchange_application_{column}", "exchange_application", [column])
    op.create_index("ix_exchange_application_deadline", "exchange_application", ["deadline"])
    op.create_table(
        "exchange_application_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey("exchange_application.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state_from", sa.String(16), nullable=False),
        sa.Column("state_to", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_table(
        "exchange_grant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("app.id"), nullable=False, index=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("exchange_service.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("exchange_application.id")),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("masking_profile", sa.String(16), nullable=False),
        sa.Column("daily_quota", sa.BigInteger(), nullable=False),
        sa.Column("rate_per_second", sa.Integer(), nullable=False),
        sa.Column("expires_at", TS, nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("revoked_by", sa.String(64)),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "exchange_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "grant_id",
            sa.Integer(),
            sa.ForeignKey("exchange_grant.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("endpoint", sa.String(500)),
        sa.Column("delivered_version", sa.BigInteger()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, index=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "exchange_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("exchange_subscription.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("from_version", sa.BigInteger()),
        sa.Column("to_version", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
    )
    op.create_table(
        "exchange_nonce",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False, index=True),
        sa.UniqueConstraint("key_id", "nonce"),
    )
    op.create_table(
        "exchange_usage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False, index=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("exchange_service.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("app.id"), nullable=False, index=True),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("denied", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("histogram", sa.JSON(), nullable=False),
        sa.Column("flushed_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "exchange_usage",
        "exchange_nonce",
        "exchange_delivery",
        "exchange_subscription",
        "exchange_grant",
        "exchange_application_event",
        "exchange_application",
        "exchange_service",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("signing_secret")
