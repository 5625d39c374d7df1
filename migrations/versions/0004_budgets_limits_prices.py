"""budgets, rate limits and admin-set model prices; usage_records indexes for spend per scope

Money columns are NUMERIC(38, 12) on PostgreSQL and the decimal's text on SQLite (whose NUMERIC
is a float), so they read back exactly.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SPEND_INDEXES = {
    "ix_usage_records_org_id_ts": ["org_id", "ts"],
    "ix_usage_records_team_id_ts": ["team_id", "ts"],
    "ix_usage_records_key_id_ts": ["key_id", "ts"],
    "ix_usage_records_user_id_ts": ["user_id", "ts"],
}


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(38, 12).with_variant(sa.String(length=64), "sqlite")


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("max_usd", _money(), nullable=True),
        sa.Column("max_tokens", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "period", name="pk_budgets"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=False),
        sa.Column("rpm", sa.BigInteger(), nullable=True),
        sa.Column("tpm", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", name="pk_rate_limits"),
    )
    op.create_table(
        "model_prices",
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_per_mtok", _money(), nullable=False),
        sa.Column("output_per_mtok", _money(), nullable=False),
        sa.Column("cached_input_per_mtok", _money(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "model", name="pk_model_prices"),
    )
    with op.batch_alter_table("usage_records") as batch_op:
        for name, columns in _SPEND_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as batch_op:
        for name in _SPEND_INDEXES:
            batch_op.drop_index(name)
    op.drop_table("model_prices")
    op.drop_table("rate_limits")
    op.drop_table("budgets")
