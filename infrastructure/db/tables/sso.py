"""Single sign-on: the orgs' connections, who signed in through them, dashboard sessions, and
the short-lived state of sign-ins under way (single use) and of answers already seen."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

sso_connections = Table(
    "sso_connections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("issuer", String(1000), nullable=True),
    Column("client_id", String(500), nullable=True),
    Column("client_secret_sealed", Text(), nullable=True),  # AES-GCM, never in clear
    Column("scopes", JSON(), nullable=True),
    Column("groups_claim", String(200), nullable=True),
    Column("idp_metadata_xml", Text(), nullable=True),
    Column("idp_entity_id", String(1000), nullable=True),
    Column("role_map", JSON(), nullable=True),
    Column("default_role", String(16), nullable=False),
    Column("declared", Boolean(), nullable=False),
    # whose authority it acts on: who last set it ("admin", "config", "user:<id>"), and their
    # role then; a sign-in grants no role above it (nor above that person's role now)
    Column("set_by", String(64), nullable=True),
    Column("set_by_role", String(16), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_sso_connections_org_id", "org_id"),
)

# Who a connection's subject (OIDC `sub`, SAML NameID) is among the org's people.
sso_identities = Table(
    "sso_identities",
    metadata,
    Column("connection_id", String(32), primary_key=True),
    Column("subject", String(500), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_sso_identities_user_id", "user_id"),
)

# Dashboard sessions when no Redis is configured: by the SHA-256 of the cookie's value.
sso_sessions = Table(
    "sso_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("connection_id", String(32), nullable=False),
    Column("csrf_hash", String(64), nullable=False),
    Column("created_at", Float(), nullable=False),  # Unix times
    Column("last_seen", Float(), nullable=False),
    Column("expires_at", Float(), nullable=False),
    Index("ix_sso_sessions_user_id", "user_id"),
)

# Single-use state (a sign-in under way: OIDC state, SAML request id) and the replay cache
# (SAML assertion ids), each by a hash of its key and until it expires. `data` is sealed.
sso_one_time = Table(
    "sso_one_time",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("data", Text(), nullable=True),
    Column("expires_at", Float(), nullable=False),
    Index("ix_sso_one_time_expires_at", "expires_at"),
)
