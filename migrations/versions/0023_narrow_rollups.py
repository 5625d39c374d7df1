"""narrow analytics rollups (per day and per hour, keyed by a few dimensions) and the request
log's tag index

- `analytics_by_provider` (org, provider), `analytics_by_tier` (org, tier), `analytics_by_model`
  (org, team, model, provider), `analytics_by_key` (org, team, key, user),
  `analytics_by_class` (org, provider, dialect, status class, tier), `analytics_by_tag` (org,
  tag): the measures of `analytics_hourly` at two grains (`grain` "day" or "hour", `period`
  "2026-12-07" or "2026-12-07T20"), derived here from the hourly rollups already folded;
- `request_tags` (tag, org, ts, id): one row per tag of a record, filled here from the
  request log; on PostgreSQL partitioned by day on `ts` as the request log is.

Revision ID: 0023_narrow_rollups
Revises: 0022_cache_savings
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0023_narrow_rollups"
down_revision = "0022_cache_savings"
branch_labels = None
depends_on = None

SIZES = {
    "org_id": 32,
    "team_id": 32,
    "key_id": 32,
    "user_id": 200,
    "model": 200,
    "provider": 100,
    "dialect": 16,
    "status_class": 3,
    "tier": 16,
    "tag": 600,
}
NARROW = {
    "analytics_by_provider": ("org_id", "provider"),
    "analytics_by_tier": ("org_id", "tier"),
    "analytics_by_model": ("org_id", "team_id", "model", "provider"),
    "analytics_by_key": ("org_id", "team_id", "key_id", "user_id"),
    "analytics_by_class": ("org_id", "provider", "dialect", "status_class", "tier"),
    "analytics_by_tag": ("org_id", "tag"),
}
INDEXED = ("org_id", "team_id", "key_id")
SUMS = (
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
HISTOGRAMS = ("latency_hist", "ttft_hist")
SEPARATOR = "\x1f"
TAG_INDEXED = 600
AHEAD_DAYS = 7


def _indexes(name: str, dims: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        f"ix_{name}_{dim.removesuffix('_id')}": [dim, "grain", "period"]
        for dim in INDEXED
        if dim in dims
    }


def _hist_add(into: dict[str, int], text: str) -> None:
    for index, count in json.loads(text or "{}").items():
        into[index] = into.get(index, 0) + int(count)


def _hist_text(counts: dict[str, int]) -> str:
    ordered = sorted((int(i), c) for i, c in counts.items() if c)
    return json.dumps({str(i): c for i, c in ordered}, separators=(",", ":"))


def _backfill_rollups(bind: sa.engine.Connection) -> None:
    """The narrow rows of every hour and day already folded, from `analytics_hourly` (its
    hours in order: an hour's rows written when the next begins, a day's when the next does)."""
    wanted = ", ".join(("hour", *SIZES, *SUMS, *HISTOGRAMS))
    rows = bind.execute(
        sa.text(f"SELECT {wanted} FROM analytics_hourly ORDER BY hour")  # noqa: S608
    ).mappings()
    pending: dict[str, dict[tuple[str, ...], list[Any]]] = {name: {} for name in NARROW}

    def flush(grain: str) -> None:
        for name, dims in NARROW.items():
            found = [k for k in pending[name] if k[0] == grain]
            if not found:
                continue
            values = []
            for key in found:
                sums, latency, ttft = pending[name].pop(key)
                values.append(
                    {
                        "grain": key[0],
                        "period": key[1],
                        **dict(zip(dims, key[2:], strict=True)),
                        **dict(zip(SUMS, sums, strict=True)),
                        "latency_hist": _hist_text(latency),
                        "ttft_hist": _hist_text(ttft),
                    }
                )
            names = ["grain", "period", *dims, *SUMS, *HISTOGRAMS]
            bind.execute(
                sa.text(
                    f"INSERT INTO {name} ({', '.join(names)}) "  # noqa: S608
                    f"VALUES ({', '.join(':' + n for n in names)})"
                ),
                values,
            )

    hour = day = None
    for row in rows:
        if row["hour"] != hour:
            if hour is not None:
                flush("hour")
            if day is not None and row["hour"][:10] != day:
                flush("day")
            hour, day = row["hour"], row["hour"][:10]
        tagged = row["tag"] != ""
        for name, dims in NARROW.items():
            if tagged != ("tag" in dims):
                continue
            for grain, period in (("hour", hour), ("day", day)):
                key = (grain, period, *(row[d] for d in dims))
                acc = pending[name].setdefault(key, [[0] * len(SUMS), {}, {}])
                acc[0] = [a + (b or 0) for a, b in zip(acc[0], (row[s] for s in SUMS), strict=True)]
                _hist_add(acc[1], row["latency_hist"])
                _hist_add(acc[2], row["ttft_hist"])
    flush("hour")
    flush("day")


def _partition(table: str, day: date) -> str:
    following = day + timedelta(days=1)
    return (
        f'CREATE TABLE IF NOT EXISTS "{table}_p{day:%Y%m%d}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{day.isoformat()}') TO ('{following.isoformat()}')"
    )


def _tags_postgres(bind: sa.engine.Connection) -> None:
    op.execute(
        "CREATE TABLE request_tags (tag VARCHAR(600) NOT NULL, org_id VARCHAR(32) NOT NULL, "
        "ts TIMESTAMP WITHOUT TIME ZONE NOT NULL, id VARCHAR(32) NOT NULL, "
        "CONSTRAINT pk_request_tags PRIMARY KEY (tag, org_id, ts, id)) PARTITION BY RANGE (ts)"
    )
    op.create_index("ix_request_tags_ts", "request_tags", ["ts"])
    op.execute('CREATE TABLE "request_tags_default" PARTITION OF request_tags DEFAULT')
    today = datetime.now(UTC).date()
    oldest = bind.execute(sa.text("SELECT min(ts) FROM request_log")).scalar()
    day = oldest.date() if oldest is not None else today
    while day <= today + timedelta(days=AHEAD_DAYS):
        op.execute(_partition("request_tags", day))
        day += timedelta(days=1)
    op.execute(
        "INSERT INTO request_tags (tag, org_id, ts, id) "
        "SELECT DISTINCT t.tag, r.org_id, r.ts, r.id FROM request_log r, "
        "unnest(string_to_array(r.tags, E'\\x1f')) AS t(tag) "
        f"WHERE r.tags IS NOT NULL AND t.tag <> '' AND length(t.tag) <= {TAG_INDEXED}"
    )


def _tags_elsewhere(bind: sa.engine.Connection) -> None:
    op.create_table(
        "request_tags",
        sa.Column("tag", sa.String(length=TAG_INDEXED), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("tag", "org_id", "ts", "id", name="pk_request_tags"),
    )
    op.create_index("ix_request_tags_ts", "request_tags", ["ts"])
    rows = bind.execute(
        sa.text("SELECT org_id, ts, id, tags FROM request_log WHERE tags IS NOT NULL")
    ).all()
    values = [
        {"tag": tag, "org_id": row.org_id, "ts": row.ts, "id": row.id}
        for row in rows
        for tag in sorted(set(row.tags.split(SEPARATOR)))
        if tag and len(tag) <= TAG_INDEXED
    ]
    if values:
        bind.execute(
            sa.text(
                "INSERT INTO request_tags (tag, org_id, ts, id) VALUES (:tag, :org_id, :ts, :id)"
            ),
            values,
        )


def upgrade() -> None:
    for name, dims in NARROW.items():
        op.create_table(
            name,
            sa.Column("grain", sa.String(length=4), nullable=False),
            sa.Column("period", sa.String(length=13), nullable=False),
            *(sa.Column(dim, sa.String(length=SIZES[dim]), nullable=False) for dim in dims),
            *(
                sa.Column(s, sa.Float() if s.endswith("_ms") else sa.BigInteger(), nullable=False)
                for s in SUMS
            ),
            *(sa.Column(h, sa.Text(), nullable=False) for h in HISTOGRAMS),
            sa.PrimaryKeyConstraint("grain", "period", *dims, name=f"pk_{name}"),
        )
        for index, columns in _indexes(name, dims).items():
            op.create_index(index, name, columns)
    bind = op.get_bind()
    _backfill_rollups(bind)
    if bind.dialect.name == "postgresql":
        _tags_postgres(bind)
    else:
        _tags_elsewhere(bind)


def downgrade() -> None:
    op.drop_index("ix_request_tags_ts", table_name="request_tags")
    op.drop_table("request_tags")
    for name, dims in NARROW.items():
        for index in _indexes(name, dims):
            op.drop_index(index, table_name=name)
        op.drop_table(name)
