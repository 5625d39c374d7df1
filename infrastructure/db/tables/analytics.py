"""The analytics read models: the request log folded per UTC hour and dimension, where the fold
has got to, and the daily and monthly summaries."""

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

DIMENSIONS: tuple[str, ...] = (
    "hour",
    "org_id",
    "team_id",
    "key_id",
    "user_id",
    "model",
    "requested_model",
    "provider",
    "dialect",
    "status_class",
    "tier",
    "tag",
)
SUMS: tuple[str, ...] = (
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
    "latency_sum_ms",
    "ttft_count",
    "ttft_sum_ms",
)
HISTOGRAMS: tuple[str, ...] = ("latency_hist", "ttft_hist")

# One row per UTC hour ("2026-12-07T20") and combination of dimensions. `tag` "" is every
# record; a non-empty tag the records that carry it (a record with three tags is in its "" row
# and in three tag rows). user_id and tier are "" when unknown.
analytics_hourly = Table(
    "analytics_hourly",
    metadata,
    Column("hour", String(13), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("requested_model", String(200), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("dialect", String(16), nullable=False),
    Column("status_class", String(3), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("tag", String(600), nullable=False),
    Column("requests", BigInteger(), nullable=False),
    Column("errors", BigInteger(), nullable=False),
    Column("cancelled", BigInteger(), nullable=False),
    Column("prompt_tokens", BigInteger(), nullable=False),
    Column("cached_tokens", BigInteger(), nullable=False),
    Column("cache_write_tokens", BigInteger(), nullable=False),
    Column("completion_tokens", BigInteger(), nullable=False),
    Column("reasoning_tokens", BigInteger(), nullable=False),
    Column("cost_picousd", BigInteger(), nullable=False),
    Column("cache_hits", BigInteger(), nullable=False),
    Column("cache_saved_picousd", BigInteger(), nullable=False),
    Column("latency_sum_ms", Float(), nullable=False),
    Column("ttft_count", BigInteger(), nullable=False),
    Column("ttft_sum_ms", Float(), nullable=False),
    # {"bucket": count} (domains.billing.histogram)
    Column("latency_hist", Text(), nullable=False),
    Column("ttft_hist", Text(), nullable=False),
    PrimaryKeyConstraint(*DIMENSIONS, name="pk_analytics_hourly"),
    Index("ix_analytics_hourly_org_hour", "org_id", "hour"),
    Index("ix_analytics_hourly_team_hour", "team_id", "hour"),
    Index("ix_analytics_hourly_key_hour", "key_id", "hour"),
)

# The narrow rollups: the same measures as `analytics_hourly`, keyed by a few of its dimensions
# only, each at two grains (`grain` "day": `period` "2026-12-07"; "hour": "2026-12-07T20"). A
# report whose filters and groups are all among a narrow rollup's dimensions reads it: its whole
# days from the day rows, the hours at either end of its range from the hour rows. A rollup
# without `tag` holds the records' "" rows of `analytics_hourly` (every record); one with `tag`
# only its non-empty tag rows (infrastructure.projections.analytics_daily).
NARROW: dict[str, tuple[str, ...]] = {
    "analytics_by_provider": ("org_id", "provider"),
    "analytics_by_tier": ("org_id", "tier"),
    "analytics_by_model": ("org_id", "team_id", "model", "provider"),
    "analytics_by_key": ("org_id", "team_id", "key_id", "user_id"),
    "analytics_by_class": ("org_id", "provider", "dialect", "status_class", "tier"),
    "analytics_by_tag": ("org_id", "tag"),
}
_SIZES = dict(
    org_id=32,
    team_id=32,
    key_id=32,
    user_id=200,
    model=200,
    requested_model=200,
    provider=100,
    dialect=16,
    status_class=3,
    tier=16,
    tag=600,
)
_INDEXED = ("org_id", "team_id", "key_id")


def _narrow(name: str, dims: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        Column("grain", String(4), nullable=False),
        Column("period", String(13), nullable=False),
        *(Column(dim, String(_SIZES[dim]), nullable=False) for dim in dims),
        *(Column(s, Float() if s.endswith("_ms") else BigInteger(), nullable=False) for s in SUMS),
        *(Column(h, Text(), nullable=False) for h in HISTOGRAMS),
        PrimaryKeyConstraint("grain", "period", *dims, name=f"pk_{name}"),
        *(
            Index(f"ix_{name}_{dim.removesuffix('_id')}", dim, "grain", "period")
            for dim in _INDEXED
            if dim in dims
        ),
    )


(
    analytics_by_provider,
    analytics_by_tier,
    analytics_by_model,
    analytics_by_key,
    analytics_by_class,
    analytics_by_tag,
) = (_narrow(name, dims) for name, dims in NARROW.items())
NARROW_TABLES: dict[str, Table] = {
    "analytics_by_provider": analytics_by_provider,
    "analytics_by_tier": analytics_by_tier,
    "analytics_by_model": analytics_by_model,
    "analytics_by_key": analytics_by_key,
    "analytics_by_class": analytics_by_class,
    "analytics_by_tag": analytics_by_tag,
}

# How far the fold has read the request log: every record up to (ts, id) is in the rollups.
analytics_watermark = Table(
    "analytics_watermark",
    metadata,
    Column("name", String(32), nullable=False),
    Column("ts", UtcDateTime(), nullable=True),
    Column("id", String(32), nullable=False),
    Column("folded", BigInteger(), nullable=False),
    PrimaryKeyConstraint("name", name="pk_analytics_watermark"),
)

# A day's ("2026-12-07") or a month's ("2026-12") summary of an org (team_id "") or a team.
analytics_summaries = Table(
    "analytics_summaries",
    metadata,
    Column("period", String(8), nullable=False),  # "day" or "month"
    Column("start", String(10), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("requests", BigInteger(), nullable=False),
    Column("errors", BigInteger(), nullable=False),
    Column("cost_picousd", BigInteger(), nullable=False),
    Column("previous_cost_picousd", BigInteger(), nullable=False),
    Column("p95_latency_ms", Float(), nullable=True),
    Column("top_models", Text(), nullable=False),  # JSON: [{model, requests, cost_usd}]
    Column("computed_at", UtcDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    PrimaryKeyConstraint("period", "start", "org_id", "team_id", name="pk_analytics_summaries"),
)
