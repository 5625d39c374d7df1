from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, text

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
