"""The outbox relay's bounded retries (attempts, when the next is due, the last failure) and the
dead letters it gives up on

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_failed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_subscriber", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("error_class", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("error_message", sa.String(length=500), nullable=True))
    op.create_table(
        "outbox_dead_letters",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=True),
        sa.Column("error_class", sa.String(length=200), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=True),
        sa.Column("dead_lettered_at", sa.DateTime(), nullable=False),
        sa.Column("replayed_at", sa.DateTime(), nullable=True),
        sa.Column("replayed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_dead_letters")),
    )
    with op.batch_alter_table("outbox_dead_letters") as batch_op:
        batch_op.create_index("ix_outbox_dead_letters_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox_dead_letters")
    with op.batch_alter_table("outbox") as batch_op:
        for column in (
            "error_message",
            "error_class",
            "failed_subscriber",
            "first_failed_at",
            "next_attempt_at",
            "attempts",
        ):
            batch_op.drop_column(column)
