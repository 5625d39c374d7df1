"""Directory groups (SCIM) with their members, and the orgs' SCIM tokens."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

directory_groups = Table(
    "directory_groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False),  # case-folded: unique per org
    Column("external_id", String(200), nullable=True),
    Column("team_id", String(32), ForeignKey("teams.id"), nullable=True),
    Column("role", String(16), nullable=True),
    Column("follows_team_name", Boolean(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("org_id", "name_key", name="uq_directory_groups_org_id_name_key"),
)

# A person's membership of a group, and so of the group's team.
group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("directory_groups.id"), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
    Column("display", String(300), nullable=True),  # the directory's label for the member
    Index("ix_group_members_user_id", "user_id"),
)

scim_tokens = Table(
    "scim_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # the role of whoever minted it: it acts on no one who outranks it (NULL: an admin's)
    Column("role", String(16), nullable=True),
    Index("ix_scim_tokens_org_id", "org_id"),
)
