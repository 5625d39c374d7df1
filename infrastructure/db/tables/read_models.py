from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, text

from infrastructure.db.tables.meta import metadata

# Usage per UTC day and every dimension the dashboard groups by ("" where there is no user).
usage_rollup = Table(
    "usage_rollup",
    metadata,
    Column("day", String(10), nullable=False),
    Column("org_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("requests", BigInteger(), nullable=False),
    Column("input_tokens", BigInteger(), nullable=False),
    Column("output_tokens", BigInteger(), nullable=False),
    Column("cost_picousd", BigInteger(), nullable=False),
    # parts of input_tokens (cache reads and writes) and of output_tokens (reasoning)
    Column("cached_tokens", BigInteger(), nullable=False, server_default=text("0")),
    Column("cache_write_5m_tokens", BigInteger(), nullable=False, server_default=text("0")),
    Column("cache_write_1h_tokens", BigInteger(), nullable=False, server_default=text("0")),
    Column("reasoning_tokens", BigInteger(), nullable=False, server_default=text("0")),
    PrimaryKeyConstraint(
        "day", "org_id", "team_id", "user_id", "key_id", "provider", "model", name="pk_usage_rollup"
    ),
)

# Which events each projection has applied: replaying an event changes nothing.
projection_applied = Table(
    "projection_applied",
    metadata,
    Column("projection", String(50), nullable=False),
    Column("event_id", String(32), nullable=False),
    PrimaryKeyConstraint("projection", "event_id", name="pk_projection_applied"),
)
