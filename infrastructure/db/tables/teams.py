from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
)

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("metadata", JSON(), nullable=True),  # the operator's own labels (a small object)
    Column("deleted_at", UtcDateTime(), nullable=True),  # the row stays: usage and audit name it
    # e-mail domains the org declares it owns: a sign-in links a person it finds by an address
    # of one of them (see docs/sso.md)
    Column("sign_in_domains", JSON(), nullable=True),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("metadata", JSON(), nullable=True),
    Column("deleted_at", UtcDateTime(), nullable=True),  # a deleted team's name stays taken
    # whether its calls keep their bodies (scrubbed) in `request_bodies`
    Column("log_bodies", Boolean(), nullable=False, server_default=false()),
    UniqueConstraint("org_id", "name", name="uq_teams_org_id_name"),
    Index("ix_teams_org_id_id", "org_id", "id"),  # an org's teams, keyset-paged by id
)

virtual_keys = Table(
    "virtual_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("team_id", String(32), ForeignKey("teams.id"), nullable=False),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("models", JSON(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("metadata", JSON(), nullable=True),
    Column("log_bodies", Boolean(), nullable=False, server_default=false()),
    Index("ix_virtual_keys_team_id", "team_id"),
    Index("ix_virtual_keys_org_id_id", "org_id", "id"),  # an org's keys, keyset-paged by id
    Index("ix_virtual_keys_user_id", "user_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("email", String(320), nullable=True),  # a provisioned person may have none
    Column(
        "email_key", String(320), nullable=True
    ),  # lower-cased: unique per org; NULL once deleted
    Column("display_name", String(200), nullable=True),
    Column("role", String(16), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("external_id", String(200), nullable=True),  # the identity provider's id (SCIM)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("user_name", String(1000), nullable=True),  # the identity provider's login name (SCIM)
    Column("user_name_key", String(1000), nullable=True),  # case-folded: unique per org
    Column("attributes", JSON(), nullable=True),  # what else the identity provider said (SCIM)
    Column("version", Integer(), nullable=False, server_default="1"),
    Column("updated_at", UtcDateTime(), nullable=True),
    Column("deleted_at", UtcDateTime(), nullable=True),
    UniqueConstraint("org_id", "email_key", name="uq_users_org_id_email_key"),
    UniqueConstraint("org_id", "external_id", name="uq_users_org_id_external_id"),
    UniqueConstraint("org_id", "user_name_key", name="uq_users_org_id_user_name_key"),
)

admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_admin_tokens_user_id", "user_id"),
)
