"""Reading the analytics rollups (`analytics_hourly`, the narrow rollups, `analytics_summaries`):
never the request log. A report reads the rollup rows of its range (one range of the primary
key, or of the org's, team's or key's index), sums them per bucket and group and merges their
histograms.

A report whose filters and groups are all dimensions of a narrow rollup (`NARROW`, smallest
first) reads it instead of `analytics_hourly`: the whole days of its range from its day rows,
the hours at either end from its hour rows (every hour with `bucket=hour`). Both are sums of
the same records as the hourly rollups, so the answer is the same, from far fewer rows.

Over 300 lines on purpose: every reading of the rollups the analytics API makes (reports, daily
spend, model traffic, summaries), each one query over the same filter and histograms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import ColumnElement, Table, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.billing import histogram
from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.tables import analytics_hourly, analytics_summaries, virtual_keys
from infrastructure.db.tables.analytics import NARROW, NARROW_TABLES, SUMS

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
        found = self.dimensions(analytics_hourly, by_tag=by_tag)
        if self.since is not None:
            found.append(t.hour >= self.since)
        if self.until is not None:
            found.append(t.hour < self.until)
        return found

    def dimensions(self, table: Table, *, by_tag: bool) -> list[ColumnElement[bool]]:
        """The conditions on the dimensions (not the time) on `table`'s columns; a table
        without `tag` is a narrow rollup of every record (no tag condition)."""
        t = table.c
        found: list[ColumnElement[bool]] = []
        for name in GROUPABLE:
            value = getattr(self, name)
            if value is not None:
                found.append(t[name] == value)
        if self.tag is None and table is analytics_hourly:
            found.append(t.tag != "" if by_tag else t.tag == "")
        return found

    def used(self) -> set[str]:
        return {name for name in GROUPABLE if getattr(self, name) is not None}


def narrow_for(needed: set[str]) -> Table | None:
    """The smallest narrow rollup that has every dimension of `needed` (one with `tag` only
    for a report by or of a tag; one without never for it), or None."""
    tagged = "tag" in needed
    for name, dims in NARROW.items():
        if ("tag" in dims) == tagged and needed <= set(dims):
            return NARROW_TABLES[name]
    return None


SPEND_TABLES = {
    "org_id": NARROW_TABLES["analytics_by_model"],
    "team_id": NARROW_TABLES["analytics_by_model"],
    "key_id": NARROW_TABLES["analytics_by_key"],
}
"""The narrow rollup a scope's daily spend is read from."""


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def periods(
    table: Table, since: str | None, until: str | None, *, hours_only: bool = False
) -> ColumnElement[bool]:
    """The rows of a narrow rollup that cover the hours from `since` to `until` (hour texts,
    `until` excluded; None: no bound) once each: the day rows of the whole days, the hour rows
    of the hours of the days cut at either end."""
    t = table.c
    hour_rows = t.grain == "hour"
    if hours_only:
        bounds = [hour_rows]
        if since is not None:
            bounds.append(t.period >= since)
        if until is not None:
            bounds.append(t.period < until)
        return and_(*bounds)
    first = None if since is None else (since[:10] if since[11:] == "00" else next_day(since[:10]))
    last = None if until is None else until[:10]  # the days before it are whole
    if first is not None and last is not None and first >= last:
        return periods(table, since, until, hours_only=True)
    day_rows = [t.grain == "day"]
    if first is not None:
        day_rows.append(t.period >= first)
    if last is not None:
        day_rows.append(t.period < last)
    parts = [and_(*day_rows)]
    if since is not None and since < f"{first}T00":
        parts.append(and_(hour_rows, t.period >= since, t.period < f"{first}T00"))
    if until is not None and f"{last}T00" < until:
        parts.append(and_(hour_rows, t.period >= f"{last}T00", t.period < until))
    return or_(*parts) if len(parts) > 1 else parts[0]


@dataclass
class Totals:
    sums: list[float] = field(default_factory=lambda: [0] * len(SUMS))
    latency: histogram.Counts = field(default_factory=dict)
    ttft: histogram.Counts = field(default_factory=dict)

    def add_histograms(self, row: Any) -> None:
        for counts, text in ((self.latency, row.latency_hist), (self.ttft, row.ttft_hist)):
            if text and text != "{}":
                for index, count in _HISTOGRAM.decode(text).items():
                    counts[index] = counts.get(index, 0) + count

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


_HISTOGRAM = msgspec.json.Decoder(dict[int, int])
"""A histogram's text (`domains.billing.histogram.encode`) as its counts, in one step."""

PERCENTILE_METRICS = frozenset(name for name in METRICS if "_p" in name)


async def crossed(
    engine: AsyncEngine,
    which: AnalyticsFilter,
    *,
    by: Sequence[str],
    bucket: Bucket | None,
    limit: int,
    histograms: bool = True,
    narrow: bool = True,
) -> list[Group]:
    """The totals per time bucket (None: the whole range) and per value of each of `by`, in
    bucket order then by spend (dearest first); at most `limit` groups. The sums are summed by
    the database; the histograms (only when `histograms`) are merged here. Read from the
    narrowest rollup that holds the dimensions (`narrow=False`: from `analytics_hourly`
    whatever they are, the reference the narrow rollups agree with)."""
    table = narrow_for(which.used() | set(by)) if narrow else None
    size = BUCKET_LENGTH[bucket] if bucket else 0
    if table is None:
        t = analytics_hourly.c
        slot = func.substr(t.hour, 1, size) if size else literal("")
        conditions = which.conditions(by_tag="tag" in by)
    else:
        t = table.c
        slot = func.substr(t.period, 1, size) if size else literal("")
        conditions = [
            *which.dimensions(table, by_tag="tag" in by),
            periods(table, which.since, which.until, hours_only=bucket == "hour"),
        ]
    dims = [t[name] for name in by]
    sums = select(
        slot.label("slot"), *dims, *(func.sum(t[name]).label(name) for name in SUMS)
    ).where(*conditions)
    if size:
        sums = sums.group_by(slot, *dims)
    elif dims:
        sums = sums.group_by(*dims)
    # the first `limit` groups in the order of the answer (texts compared by code point, as
    # Python compares them), so that only theirs are read for their histograms
    ordering: Any = (lambda e: e.collate("C")) if engine.dialect.name == "postgresql" else None
    exact = ordering or (lambda e: e)
    cost = func.sum(t.cost_picousd)
    sums = sums.order_by(*((exact(slot),) if size else ()), cost.desc(), *map(exact, dims))
    sums = sums.limit(limit)
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
            chosen = list(conditions)
            for i, dim in enumerate(dims):
                chosen.append(dim.in_(sorted({keys[i] for _, keys in groups})))
            if size:
                slots = sorted(bucket_ for bucket_, _ in groups)
                chosen += [slot >= slots[0], slot <= slots[-1]]
            query = select(slot.label("slot"), *dims, t.latency_hist, t.ttft_hist).where(*chosen)
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
    key (`scope`: org_id, team_id, key_id), from the day rows of a narrow rollup."""
    t = SPEND_TABLES[scope].c
    query = (
        select(t.period.label("day"), func.sum(t.cost_picousd).label("cost"))
        .where(
            t[scope] == scope_id,
            t.grain == "day",
            t.period >= first.isoformat(),
            t.period <= last.isoformat(),
        )
        .group_by(t.period)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {date.fromisoformat(row.day): int(row.cost or 0) for row in rows}


async def spend_since(engine: AsyncEngine, scope: str, scope_id: str, since: date | None) -> int:
    """Picodollars spent by the org, team or key since the UTC day `since` (None: ever)."""
    t = SPEND_TABLES[scope].c
    conditions = [t[scope] == scope_id, t.grain == "day"]
    if since is not None:
        conditions.append(t.period >= since.isoformat())
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
    """Per (team, provider, model): requests, tokens by kind and spend since the hour `since`
    (from `analytics_by_model`)."""
    table = NARROW_TABLES["analytics_by_model"]
    t = table.c
    conditions = [periods(table, since, None)]
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
