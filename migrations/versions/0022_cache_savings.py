"""the request log says what a response cache hit saved (saved_picousd, 0 for any other call)

Revision ID: 0022_cache_savings
Revises: 0021_request_bodies_retention
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_cache_savings"
down_revision = "0021_request_bodies_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.add_column(
            sa.Column("saved_picousd", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.drop_column("saved_picousd")
