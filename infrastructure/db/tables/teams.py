from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, UniqueConstraint

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_teams_org_id_name"),
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
    Index("ix_virtual_keys_team_id", "team_id"),
)
