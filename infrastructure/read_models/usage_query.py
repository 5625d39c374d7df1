"""The dashboard's usage query: reads the usage read model, never the ledger."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.tables import usage_rollup

GroupBy = Literal["org", "team", "user", "key", "model", "provider", "day"]

_COLUMNS = {
    "org": usage_rollup.c.org_id,
    "team": usage_rollup.c.team_id,
    "user": usage_rollup.c.user_id,
    "key": usage_rollup.c.key_id,
    "model": usage_rollup.c.model,
    "provider": usage_rollup.c.provider,
    "day": usage_rollup.c.day,
}


class UsageRow(msgspec.Struct, kw_only=True):
    """Totals of one group. `input_tokens` includes the cache reads (`cached_tokens`) and writes,
    `output_tokens` the reasoning tokens."""

    group: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: str
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0


async def usage_by(
    engine: AsyncEngine,
    group_by: GroupBy,
    *,
    start: date | None = None,
    end: date | None = None,
    org_id: str | None = None,
) -> list[UsageRow]:
    """Totals per group; `start` and `end` are inclusive UTC days."""
    dim = _COLUMNS[group_by]
    query = (
        select(
            dim.label("grp"),
            func.sum(usage_rollup.c.requests),
            func.sum(usage_rollup.c.input_tokens),
            func.sum(usage_rollup.c.output_tokens),
            func.sum(usage_rollup.c.cost_picousd),
            func.sum(usage_rollup.c.cached_tokens),
            func.sum(usage_rollup.c.cache_write_5m_tokens),
            func.sum(usage_rollup.c.cache_write_1h_tokens),
            func.sum(usage_rollup.c.reasoning_tokens),
        )
        .group_by(dim)
        .order_by(dim)
    )
    if start is not None:
        query = query.where(usage_rollup.c.day >= start.isoformat())
    if end is not None:
        query = query.where(usage_rollup.c.day <= end.isoformat())
    if org_id is not None:
        query = query.where(usage_rollup.c.org_id == org_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        UsageRow(
            group=(row[0] or None) if group_by == "user" else row[0],
            requests=int(row[1]),
            input_tokens=int(row[2]),
            output_tokens=int(row[3]),
            cost_usd=usd_text(from_picodollars(int(row[4]))),
            cached_tokens=int(row[5]),
            cache_write_5m_tokens=int(row[6]),
            cache_write_1h_tokens=int(row[7]),
            reasoning_tokens=int(row[8]),
        )
        for row in rows
    ]
