"""the request log: one row per model call (each attempt of a request), newest first by ts

Its primary key starts with `ts`, so PostgreSQL can later partition it by time.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_request_log_org_id_ts": ["org_id", "ts", "id"],
    "ix_request_log_team_id_ts": ["team_id", "ts", "id"],
    "ix_request_log_user_id_ts": ["user_id", "ts", "id"],
    "ix_request_log_key_id_ts": ["key_id", "ts", "id"],
    "ix_request_log_model_ts": ["model", "ts", "id"],
    "ix_request_log_request_id": ["request_id"],
}


def upgrade() -> None:
    op.create_table(
        "request_log",
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("dialect", sa.String(length=16), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("requested_model", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("upstream_model", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("deployment", sa.String(length=300), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_picousd", sa.BigInteger(), nullable=False),
        sa.Column("priced", sa.Boolean(), nullable=False),
        sa.Column("usage_reported", sa.Boolean(), nullable=False),
        sa.Column("cache", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("caller_metadata", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("ts", "id", name="pk_request_log"),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "request_log", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="request_log")
    op.drop_table("request_log")
