"""Every kind of token priced and counted: prices for cache writes (5-minute and 1-hour) and
reasoning output, long-context price tiers (model_price_tiers), and the cache writes and reasoning
tokens of each call in the ledger and the usage read model (0 for the rows already there)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_RATES = ("cache_write_5m_per_mtok", "cache_write_1h_per_mtok", "reasoning_output_per_mtok")
_LEDGER = ("cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens")
_ROLLUP = ("cached_tokens", *_LEDGER)


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(38, 12).with_variant(sa.String(length=64), "sqlite")


def upgrade() -> None:
    # columns only are added: SQLite adds them in place (no table is rebuilt)
    with op.batch_alter_table("model_prices") as batch_op:
        for name in _RATES:
            batch_op.add_column(sa.Column(name, _money(), nullable=True))
    with op.batch_alter_table("usage_records") as batch_op:
        for name in _LEDGER:
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
    with op.batch_alter_table("usage_rollup") as batch_op:
        for name in _ROLLUP:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))
            )
    op.create_table(
        "model_price_tiers",
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("above_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("input_per_mtok", _money(), nullable=False),
        sa.Column("output_per_mtok", _money(), nullable=False),
        sa.Column("cached_input_per_mtok", _money(), nullable=True),
        *(sa.Column(name, _money(), nullable=True) for name in _RATES),
        sa.PrimaryKeyConstraint(
            "provider", "model", "above_input_tokens", name="pk_model_price_tiers"
        ),
    )


def downgrade() -> None:
    op.drop_table("model_price_tiers")
    for table, names in (
        ("usage_rollup", _ROLLUP),
        ("usage_records", _LEDGER),
        ("model_prices", _RATES),
    ):
        for name in reversed(names):
            op.drop_column(table, name)
