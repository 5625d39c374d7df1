from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source_event_id", String(32), nullable=False, unique=True),
    Column("request_id", String(64), nullable=False),
    Column("ts", UtcDateTime(), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("key_id", String(32), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("endpoint", String(32), nullable=False),
    Column("input_tokens", Integer(), nullable=False),
    Column("output_tokens", Integer(), nullable=False),
    # input_tokens includes the cache reads (cached_tokens) and writes, output_tokens the
    # reasoning tokens
    Column("cached_tokens", Integer(), nullable=False),
    Column("cache_write_5m_tokens", Integer(), nullable=False, server_default=text("0")),
    Column("cache_write_1h_tokens", Integer(), nullable=False, server_default=text("0")),
    Column("reasoning_tokens", Integer(), nullable=False, server_default=text("0")),
    Column("cost_picousd", BigInteger(), nullable=False),
    Column("priced", Boolean(), nullable=False),
    Index("ix_usage_records_ts", "ts"),
    # spend per budget scope and window (budget checks, counter rebuilds, the spend answer)
    Index("ix_usage_records_org_id_ts", "org_id", "ts"),
    Index("ix_usage_records_team_id_ts", "team_id", "ts"),
    Index("ix_usage_records_key_id_ts", "key_id", "ts"),
    Index("ix_usage_records_user_id_ts", "user_id", "ts"),
)

# The request log: one row per model call (each attempt of a request). Its primary key starts
# with `ts` so that PostgreSQL can partition it by time (a partitioned table's keys must hold
# the partition column); every index ends with (ts, id), the order of a page, newest first.
request_log = Table(
    "request_log",
    metadata,
    Column("ts", UtcDateTime(), nullable=False),
    Column("id", String(32), nullable=False),  # the CompletionFinished event's id
    Column("request_id", String(64), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("key_id", String(32), nullable=False),
    Column("dialect", String(16), nullable=False),
    Column("transport", String(16), nullable=False),
    Column("stream", Boolean(), nullable=False),
    Column("requested_model", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("upstream_model", String(200), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("deployment", String(300), nullable=False),
    Column("route", Text(), nullable=False),
    Column("status", Integer(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error_code", String(64), nullable=False),
    Column("cancelled", Boolean(), nullable=False),
    Column("latency_ms", Float(), nullable=False),
    Column("ttft_ms", Float(), nullable=True),
    Column("prompt_tokens", Integer(), nullable=False),
    Column("cached_tokens", Integer(), nullable=False),
    Column("cache_write_tokens", Integer(), nullable=False),
    Column("completion_tokens", Integer(), nullable=False),
    Column("reasoning_tokens", Integer(), nullable=False),
    Column("cost_picousd", BigInteger(), nullable=False),
    Column("priced", Boolean(), nullable=False),
    Column("usage_reported", Boolean(), nullable=False),
    Column("cache", String(16), nullable=False),
    # what the `tag` filter matches, between \x1f separators (domains.billing.request_log)
    Column("tags", Text(), nullable=True),
    # {tags, metadata, user}: what the caller said of the request, as it said it
    Column("caller_metadata", JSON(none_as_null=True), nullable=True),
    # what a response cache hit saved: what its answer would have cost upstream
    Column("saved_picousd", BigInteger(), nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("ts", "id", name="pk_request_log"),
    Index("ix_request_log_org_id_ts", "org_id", "ts", "id"),
    Index("ix_request_log_team_id_ts", "team_id", "ts", "id"),
    Index("ix_request_log_user_id_ts", "user_id", "ts", "id"),
    Index("ix_request_log_key_id_ts", "key_id", "ts", "id"),
    Index("ix_request_log_model_ts", "model", "ts", "id"),
    Index("ix_request_log_request_id", "request_id"),
)

# A call's prompt and answer, scrubbed (only for a team or key that opted in): keyed as its
# record of `request_log`, kept for their own retention (`request_log.bodies_retention_days`).
request_bodies = Table(
    "request_bodies",
    metadata,
    Column("ts", UtcDateTime(), nullable=False),
    Column("id", String(32), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("prompt", Text(), nullable=True),
    Column("response", Text(), nullable=True),
    Column("prompt_truncated", Boolean(), nullable=False),
    Column("response_truncated", Boolean(), nullable=False),
    PrimaryKeyConstraint("ts", "id", name="pk_request_bodies"),
)

# One row per tag a record carries (each of `request_log.tags` up to `TAG_INDEXED` characters),
# written with it and kept as long: the `tag` filter of the request log reads the tag's range,
# of an org, newest first, and the records by their key, instead of checking every record of
# the org (`infrastructure.queries.request_log`).
TAG_INDEXED = 600
request_tags = Table(
    "request_tags",
    metadata,
    Column("tag", String(TAG_INDEXED), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("ts", UtcDateTime(), nullable=False),
    Column("id", String(32), nullable=False),
    PrimaryKeyConstraint("tag", "org_id", "ts", "id", name="pk_request_tags"),
    Index("ix_request_tags_ts", "ts"),
)
