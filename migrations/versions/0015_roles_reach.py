"""Whose authority an SSO connection and a SCIM token act on: the connection records who last
set it and that person's role then, a SCIM token the role of whoever minted it; an org may
declare the e-mail domains it owns, by which a sign-in may link a person it finds

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # columns only are added: SQLite adds them in place (no table is rebuilt)
    with op.batch_alter_table("orgs") as batch_op:
        batch_op.add_column(sa.Column("sign_in_domains", sa.JSON(), nullable=True))
    with op.batch_alter_table("sso_connections") as batch_op:
        batch_op.add_column(sa.Column("set_by", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("set_by_role", sa.String(16), nullable=True))
    with op.batch_alter_table("scim_tokens") as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(16), nullable=True))
    # Who made the rows already there is not known: they act with the least role that could
    # have made them (an admin's), except connections the configuration file declares (the
    # operator's). An owner re-saves a connection, or mints a new token, to give it more.
    connections = sa.table(
        "sso_connections",
        sa.column("declared", sa.Boolean()),
        sa.column("set_by", sa.String()),
        sa.column("set_by_role", sa.String()),
    )
    op.execute(
        connections.update()
        .where(connections.c.declared.is_(True))
        .values(set_by="config", set_by_role="owner")
    )
    op.execute(
        connections.update()
        .where(connections.c.set_by_role.is_(None))
        .values(set_by_role="admin")
    )
    tokens = sa.table("scim_tokens", sa.column("role", sa.String()))
    op.execute(tokens.update().values(role="admin"))


def downgrade() -> None:
    op.drop_column("scim_tokens", "role")
    op.drop_column("sso_connections", "set_by_role")
    op.drop_column("sso_connections", "set_by")
    op.drop_column("orgs", "sign_in_domains")
