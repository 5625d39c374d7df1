"""Reading the analytics rollups (`analytics_hourly`, `analytics_summaries`): never the request
log. A report reads the rollup rows of its hours (one range of the primary key, or of the org's,
team's or key's index), sums them per bucket and group in memory and merges their histograms.

Over 300 lines on purpose: every reading of the rollups the analytics API makes (reports, daily
spend, model traffic, summaries), each one query over the same filter and histograms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.billing import histogram
from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.tables import analytics_hourly, analytics_summaries, virtual_keys
from infrastructure.db.tables.analytics import SUMS

Bucket = Literal["hour", "day", "month"]
BUCKET_LENGTH = {"hour": 13, "day": 10, "month": 7}

GROUPABLE: tuple[str, ...] = (
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
METRICS: tuple[str, ...] = (
    "requests",
    "errors",
    "error_rate",
    "cancelled",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_usd",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "ttft_mean_ms",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "ttft_p99_ms",
    "cache_hits",
    "cache_hit_rate",
    "cache_saved_usd",
)
DEFAULT_METRICS: tuple[str, ...] = (
    "requests",
    "errors",
    "error_rate",
    "cost_usd",
    "prompt_tokens",
    "completion_tokens",
    "latency_p50_ms",
    "latency_p95_ms",
)


def hour_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


def ceil_hour_text(moment: datetime) -> str:
    """The first hour at or after `moment`."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return hour_text(floor if floor == moment else floor + timedelta(hours=1))


@dataclass(frozen=True)
class AnalyticsFilter:
    """Each field given narrows the rollup rows; `since`/`until` are hour texts ("2026-12-07T20"),
    `until` excluded."""

    org_id: str | None = None
    team_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    model: str | None = None
    requested_model: str | None = None
    provider: str | None = None
    dialect: str | None = None
    status_class: str | None = None
    tier: str | None = None
    tag: str | None = None
    since: str | None = None
    until: str | None = None

    def conditions(self, *, by_tag: bool) -> list[ColumnElement[bool]]:
        t = analytics_hourly.c
        found: list[ColumnElement[bool]] = []
        for name in GROUPABLE:
            value = getattr(self, name)
            if value is not None:
                found.append(t[name] == value)
        if self.tag is None:
            found.append(t.tag != "" if by_tag else t.tag == "")
        if self.since is not None:
            found.append(t.hour >= self.since)
        if self.until is not None:
            found.append(t.hour < self.until)
        return found


@dataclass
class Totals:
    sums: list[float] = field(default_factory=lambda: [0] * len(SUMS))
    latency: histogram.Counts = field(default_factory=dict)
    ttft: histogram.Counts = field(default_factory=dict)

    def add_histograms(self, row: Any) -> None:
        self.latency = histogram.merge((self.latency, histogram.decode(row.latency_hist)))
        self.ttft = histogram.merge((self.ttft, histogram.decode(row.ttft_hist)))

    def metric(self, name: str) -> Any:
        s = dict(zip(SUMS, self.sums, strict=True))
        requests = s["requests"]
        if name in ("cost_usd", "cache_saved_usd"):
            pico = int(s["cost_picousd" if name == "cost_usd" else "cache_saved_picousd"])
            return usd_text(from_picodollars(pico))
        if name == "error_rate":
            return s["errors"] / requests if requests else None
        if name == "cache_hit_rate":
            return s["cache_hits"] / requests if requests else None
        if name == "latency_mean_ms":
            return s["latency_sum_ms"] / requests if requests else None
        if name == "ttft_mean_ms":
            return s["ttft_sum_ms"] / s["ttft_count"] if s["ttft_count"] else None
        if name.startswith(("latency_p", "ttft_p")):
            kind, q = name.split("_", maxsplit=1)[0], int(name.split("_")[1][1:]) / 100
            return histogram.percentile(self.latency if kind == "latency" else self.ttft, q)
        return int(s[name])


@dataclass(frozen=True)
class Group:
    bucket: str
    keys: tuple[str, ...]
    totals: Totals


PERCENTILE_METRICS = frozenset(name for name in METRICS if "_p" in name)


async def crossed(
    engine: AsyncEngine,
    which: AnalyticsFilter,
    *,
    by: Sequence[str],
    bucket: Bucket | None,
    limit: int,
    histograms: bool = True,
) -> list[Group]:
    """The totals per time bucket (None: the whole range) and per value of each of `by`, in
    bucket order then by spend (dearest first); at most `limit` groups. The sums are summed by
    the database; the histograms (only when `histograms`) are merged here."""
    t = analytics_hourly.c
    size = BUCKET_LENGTH[bucket] if bucket else 0
    slot = func.substr(t.hour, 1, size) if size else literal("")
    dims = [t[name] for name in by]
    conditions = which.conditions(by_tag="tag" in by)
    sums = select(
        slot.label("slot"), *dims, *(func.sum(t[name]).label(name) for name in SUMS)
    ).where(*conditions)
    if size:
        sums = sums.group_by(slot, *dims)
    elif dims:
        sums = sums.group_by(*dims)
    groups: dict[tuple[str, tuple[str, ...]], Totals] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(sums):
            if row.requests is None:  # no rollup row at all
                continue
            key = (row.slot, tuple(getattr(row, name) for name in by))
            groups[key] = Totals(
                sums=[
                    float(getattr(row, name) or 0)
                    if name.endswith("_ms")
                    else int(getattr(row, name) or 0)
                    for name in SUMS
                ]
            )
        if histograms and groups:
            query = select(slot.label("slot"), *dims, t.latency_hist, t.ttft_hist).where(
                *conditions
            )
            result = await conn.stream(query.execution_options(yield_per=2000))
            async for row in result:
                totals = groups.get((row.slot, tuple(getattr(row, name) for name in by)))
                if totals is not None:
                    totals.add_histograms(row)
    ordered = sorted(
        groups.items(),
        key=lambda item: (item[0][0], -item[1].sums[SUMS.index("cost_picousd")], item[0][1]),
    )
    return [Group(bucket_, keys, totals) for (bucket_, keys), totals in ordered[:limit]]


async def daily_spend(
    engine: AsyncEngine, scope: str, scope_id: str, first: date, last: date
) -> dict[date, int]:
    """Picodollars spent per UTC day from `first` to `last` (included) by the org, team or
    key (`scope`: org_id, team_id, key_id)."""
    t = analytics_hourly.c
    day = func.substr(t.hour, 1, 10)
    query = (
        select(day.label("day"), func.sum(t.cost_picousd).label("cost"))
        .where(
            t[scope] == scope_id,
            t.tag == "",
            t.hour >= first.isoformat(),
            t.hour < (last + timedelta(days=1)).isoformat(),
        )
        .group_by(day)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {date.fromisoformat(row.day): int(row.cost or 0) for row in rows}


async def spend_since(engine: AsyncEngine, scope: str, scope_id: str, since: date | None) -> int:
    t = analytics_hourly.c
    conditions = [t[scope] == scope_id, t.tag == ""]
    if since is not None:
        conditions.append(t.hour >= since.isoformat())
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.sum(t.cost_picousd)).where(*conditions))).scalar()
    return int(total or 0)


@dataclass(frozen=True)
class ModelTraffic:
    team_id: str
    org_id: str
    provider: str
    model: str
    requests: int
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_picousd: int


async def model_traffic(
    engine: AsyncEngine, *, org_id: str | None, team_id: str | None, since: str
) -> list[ModelTraffic]:
    """Per (team, provider, model): requests, tokens by kind and spend since the hour `since`."""
    t = analytics_hourly.c
    conditions = [t.tag == "", t.hour >= since]
    if org_id is not None:
        conditions.append(t.org_id == org_id)
    if team_id is not None:
        conditions.append(t.team_id == team_id)
    sums = [
        func.sum(t[name]).label(name)
        for name in (
            "requests",
            "prompt_tokens",
            "cached_tokens",
            "cache_write_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cost_picousd",
        )
    ]
    query = (
        select(t.team_id, t.org_id, t.provider, t.model, *sums)
        .where(*conditions)
        .group_by(t.team_id, t.org_id, t.provider, t.model)
        .order_by(t.team_id, t.provider, t.model)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        ModelTraffic(
            row.team_id,
            row.org_id,
            row.provider,
            row.model,
            *(int(getattr(row, c.key) or 0) for c in sums),
        )
        for row in rows
        if row.requests
    ]


async def team_allow_lists(
    engine: AsyncEngine, team_ids: Sequence[str]
) -> dict[str, frozenset[str] | None]:
    """What each team's keys that are not revoked may use, together: None (every model) when
    one of them has no allow-list, else the union of their allow-lists (names, or
    `provider/name`). A team without such a key may use nothing."""
    if not team_ids:
        return {}
    query = select(virtual_keys.c.team_id, virtual_keys.c.models).where(
        virtual_keys.c.team_id.in_(sorted(set(team_ids))), virtual_keys.c.revoked_at.is_(None)
    )
    found: dict[str, frozenset[str] | None] = dict.fromkeys(team_ids, frozenset())
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            have = found[row.team_id]
            if have is None:
                continue
            found[row.team_id] = None if row.models is None else have | frozenset(row.models)
    return found


@dataclass(frozen=True)
class Summary:
    period: str
    start: str
    org_id: str
    team_id: str | None
    requests: int
    errors: int
    cost_picousd: int
    previous_cost_picousd: int
    p95_latency_ms: float | None
    top_models: list[dict[str, Any]]
    computed_at: datetime


async def summaries(
    engine: AsyncEngine,
    *,
    period: str,
    org_id: str | None,
    team_id: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> list[Summary]:
    t = analytics_summaries.c
    conditions = [t.period == period]
    if org_id is not None:
        conditions.append(t.org_id == org_id)
    conditions.append(t.team_id == (team_id or ""))
    if since is not None:
        conditions.append(t.start >= since)
    if until is not None:
        conditions.append(t.start < until)
    query = (
        select(analytics_summaries)
        .where(*conditions)
        .order_by(t.start.desc(), t.org_id, t.team_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        Summary(
            row.period,
            row.start,
            row.org_id,
            row.team_id or None,
            row.requests,
            row.errors,
            row.cost_picousd,
            row.previous_cost_picousd,
            row.p95_latency_ms,
            msgspec.json.decode(row.top_models),
            row.computed_at,
        )
        for row in rows
    ]
