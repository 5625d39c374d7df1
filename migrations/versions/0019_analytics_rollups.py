"""analytics: the request log folded per UTC hour and dimension (with mergeable latency
histograms), the fold's watermark, and the daily and monthly summaries per org and team

Revision ID: 0019_analytics_rollups
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_analytics_rollups"
down_revision = "0018"
branch_labels = None
depends_on = None

DIMENSIONS = [
    ("hour", 13),
    ("org_id", 32),
    ("team_id", 32),
    ("key_id", 32),
    ("user_id", 200),
    ("model", 200),
    ("requested_model", 200),
    ("provider", 100),
    ("dialect", 16),
    ("status_class", 3),
    ("tier", 16),
    ("tag", 600),
]
COUNTS = [
    "requests",
    "errors",
    "cancelled",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_picousd",
    "cache_hits",
    "cache_saved_picousd",
]
INDEXES = {
    "ix_analytics_hourly_org_hour": ["org_id", "hour"],
    "ix_analytics_hourly_team_hour": ["team_id", "hour"],
    "ix_analytics_hourly_key_hour": ["key_id", "hour"],
}


def upgrade() -> None:
    op.create_table(
        "analytics_hourly",
        *(sa.Column(name, sa.String(length=size), nullable=False) for name, size in DIMENSIONS),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("ttft_count", sa.BigInteger(), nullable=False),
        sa.Column("ttft_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_hist", sa.Text(), nullable=False),
        sa.Column("ttft_hist", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(*(name for name, _ in DIMENSIONS), name="pk_analytics_hourly"),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "analytics_hourly", columns)
    op.create_table(
        "analytics_watermark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("folded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_analytics_watermark"),
    )
    op.create_table(
        "analytics_summaries",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("start", sa.String(length=10), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("cost_picousd", sa.BigInteger(), nullable=False),
        sa.Column("previous_cost_picousd", sa.BigInteger(), nullable=False),
        sa.Column("p95_latency_ms", sa.Float(), nullable=True),
        sa.Column("top_models", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "start", "org_id", "team_id", name="pk_analytics_summaries"
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_summaries")
    op.drop_table("analytics_watermark")
    for name in INDEXES:
        op.drop_index(name, table_name="analytics_hourly")
    op.drop_table("analytics_hourly")
