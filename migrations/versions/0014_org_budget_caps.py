"""org_budget_caps: the operator's cap on an org's budget, one per period, which org admins may
not set a budget above nor remove the org's budget under

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _money() -> sa.types.TypeEngine:
    return sa.Numeric(38, 12).with_variant(sa.String(length=64), "sqlite")


def upgrade() -> None:
    op.create_table(
        "org_budget_caps",
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("max_usd", _money(), nullable=True),
        sa.Column("max_tokens", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "period", name="pk_org_budget_caps"),
    )


def downgrade() -> None:
    op.drop_table("org_budget_caps")
