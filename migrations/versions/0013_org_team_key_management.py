"""Orgs, teams and keys carry metadata; orgs and teams are deleted by marking them (the rows
stay, so usage and audit rows still name them); indexes for listing an org's teams and keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # columns only are added: SQLite adds them in place (no table is rebuilt)
    for table in ("orgs", "teams"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("virtual_keys") as batch_op:
        batch_op.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
    op.create_index("ix_teams_org_id_id", "teams", ["org_id", "id"])
    op.create_index("ix_virtual_keys_org_id_id", "virtual_keys", ["org_id", "id"])
    op.create_index("ix_virtual_keys_user_id", "virtual_keys", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_virtual_keys_user_id", table_name="virtual_keys")
    op.drop_index("ix_virtual_keys_org_id_id", table_name="virtual_keys")
    op.drop_index("ix_teams_org_id_id", table_name="teams")
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): rebuilding a table others refer to
    # fails while foreign keys are enforced
    op.drop_column("virtual_keys", "metadata")
    for table in ("teams", "orgs"):
        op.drop_column(table, "deleted_at")
        op.drop_column(table, "metadata")
