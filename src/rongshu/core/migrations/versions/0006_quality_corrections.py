"""Quality corrections and data-subject objections

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Corrections (纠错): tickets sending problem data back to the department that owns it, with the
history of every step; the resources whose data subjects may see and dispute their own rows;
and the one-time codes that prove a data subject is who they say (数据主体查询核实).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_kind", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("failing", sa.BigInteger(), nullable=False),
        sa.Column("sample_keys", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_quality_ticket_number")),
    )
    with op.batch_alter_table("quality_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_ticket_resource_rule", ["resource_code", "rule_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_quality_ticket_department_state", ["department_code", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_quality_ticket_subject_hash"), ["subject_hash"], unique=False
        )

    op.create_table(
        "quality_ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["quality_ticket.id"],
            name=op.f("fk_quality_ticket_event_ticket_id_quality_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_ticket_event")),
    )
    with op.batch_alter_table("quality_ticket_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_ticket_event_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "quality_subject_access",
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("id_field", sa.String(length=100), nullable=False),
        sa.Column("name_field", sa.String(length=100), nullable=False),
        sa.Column("phone_field", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resource_code", name=op.f("pk_quality_subject_access")),
    )

    op.create_table(
        "quality_objection_challenge",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_objection_challenge")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_quality_objection_challenge_token_hash")),
    )
    with op.batch_alter_table("quality_objection_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_objection_challenge_subject_hash"),
            ["subject_hash"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("quality_objection_challenge")
    op.drop_table("quality_subject_access")
    op.drop_table("quality_ticket_event")
    op.drop_table("quality_ticket")
