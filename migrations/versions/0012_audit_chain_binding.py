"""audit checkpoints name their chain (the hash of its genesis row)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A nullable column added in place (no table copy on SQLite), so the append-only triggers stay;
checkpoints stored before it have no chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_checkpoints", sa.Column("chain", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # in place on SQLite too (3.35+), keeping the triggers a table copy would lose
    op.execute("ALTER TABLE audit_checkpoints DROP COLUMN chain")
