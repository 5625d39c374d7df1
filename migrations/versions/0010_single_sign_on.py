"""Single sign-on: the orgs' OIDC and SAML connections, the identities signed in through them,
dashboard sessions (without Redis), and single-use sign-in state and the replay cache

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_connections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("issuer", sa.String(length=1000), nullable=True),
        sa.Column("client_id", sa.String(length=500), nullable=True),
        sa.Column("client_secret_sealed", sa.Text(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("groups_claim", sa.String(length=200), nullable=True),
        sa.Column("idp_metadata_xml", sa.Text(), nullable=True),
        sa.Column("idp_entity_id", sa.String(length=1000), nullable=True),
        sa.Column("role_map", sa.JSON(), nullable=True),
        sa.Column("default_role", sa.String(length=16), nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_sso_connections_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connections")),
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.create_index("ix_sso_connections_org_id", ["org_id"], unique=False)
    op.create_table(
        "sso_identities",
        sa.Column("connection_id", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sso_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("connection_id", "subject", name=op.f("pk_sso_identities")),
    )
    with op.batch_alter_table("sso_identities", schema=None) as batch_op:
        batch_op.create_index("ix_sso_identities_user_id", ["user_id"], unique=False)
    op.create_table(
        "sso_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sso_sessions")),
    )
    with op.batch_alter_table("sso_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sso_sessions_user_id", ["user_id"], unique=False)
    op.create_table(
        "sso_one_time",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_sso_one_time")),
    )
    with op.batch_alter_table("sso_one_time", schema=None) as batch_op:
        batch_op.create_index("ix_sso_one_time_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sso_one_time", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_one_time_expires_at")
    op.drop_table("sso_one_time")
    with op.batch_alter_table("sso_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_sessions_user_id")
    op.drop_table("sso_sessions")
    with op.batch_alter_table("sso_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_identities_user_id")
    op.drop_table("sso_identities")
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_connections_org_id")
    op.drop_table("sso_connections")
