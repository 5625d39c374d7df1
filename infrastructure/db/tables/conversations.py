"""The conversations context: conversations and their messages, the teams' prompt library, the
responses `/v1/responses` stored."""

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("team_id", String(32), ForeignKey("teams.id"), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("key_id", String(32), nullable=False),
    Column("title", String(200), nullable=True),
    Column("message_count", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_conversations_owner", "team_id", "user_id", "updated_at"),
    Index("ix_conversations_org_id_updated_at", "org_id", "updated_at"),
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("conversation_id", String(32), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("message", JSON(), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("finish_reason", String(32), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("conversation_id", "seq", name="pk_conversation_messages"),
)

prompts = Table(
    "prompts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("team_id", String(32), ForeignKey("teams.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("latest_version", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("team_id", "name", name="uq_prompts_team_id_name"),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("prompt_id", String(32), ForeignKey("prompts.id"), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("messages", JSON(), nullable=False),
    Column("variables", JSON(), nullable=False),
    Column("created_by", String(240), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("prompt_id", "version", name="pk_prompt_versions"),
)

stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("org_id", String(32), ForeignKey("orgs.id"), nullable=False),
    Column("team_id", String(32), ForeignKey("teams.id"), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("model", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("previous_response_id", String(128), nullable=True),
    Column("response", JSON(), nullable=False),
    Column("input_items", JSON(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_stored_responses_expires_at", "expires_at"),
)
