"""The narrow rollups agree with the hourly rollups on both databases: a generated history of
several orgs, teams, keys, people, models, dialects, endings, tiers and tags, written by the
real writer, folded in small batches (so rows merge across batches) and reconciled after a
late record; then every report the narrow rollups can answer, over ranges whole and cut at
either end, per hour, day, month and in all, answers as it does from `analytics_hourly`, and so
do the daily spend, the spend since a day and the traffic per model."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.billing.request_log import RequestRecord
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.tables import (
    analytics_by_key,
    analytics_by_model,
    analytics_hourly,
    request_tags,
)
from infrastructure.db.tables.analytics import NARROW_TABLES
from infrastructure.projections.analytics_daily import hours_folded, rederive_hours
from infrastructure.projections.analytics_fold import AnalyticsFolder
from infrastructure.queries.analytics import (
    METRICS,
    AnalyticsFilter,
    crossed,
    daily_spend,
    model_traffic,
    narrow_for,
    spend_since,
)
from migrations.runner import downgrade, upgrade

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOURS = 80
ORGS = ("org-a", "org-b")
TEAMS = {"org-a": ("team-a1", "team-a2"), "org-b": ("team-b1",)}
MODELS = (("gpt-x", "openai"), ("claude-y", "anthropic"), ("gpt-x", "azure"))
TAGS = ("feature=search", "agent=a1", "nightly")


def history(seed: int = 7) -> list[RequestRecord]:
    r = random.Random(seed)
    keys = [
        (org, team, f"key-{team}-{i}", r.choice((None, f"u-{org}-{i}")))
        for org in ORGS
        for team in TEAMS[org]
        for i in range(3)
    ]
    found = []
    for _ in range(700):
        org, team, key, user = r.choice(keys)
        model, provider = r.choice(MODELS)
        status, outcome = r.choice(((200, "ok"), (200, "ok"), (429, "error"), (500, "error")))
        tier = r.choice(("", "simple", "complex"))
        ttft = r.choice((None, float(r.randint(5, 400))))
        found.append(
            RequestRecord(
                id=secrets.token_hex(16),
                ts=START + timedelta(seconds=r.randrange(HOURS * 3600)),
                request_id=secrets.token_hex(8),
                org_id=org,
                team_id=team,
                user_id=user,
                key_id=key,
                dialect=r.choice(("chat", "messages", "responses")),
                transport="http",
                stream=False,
                requested_model="auto" if tier else model,
                model=model,
                upstream_model=model,
                provider=provider,
                deployment=f"{provider}/{model}",
                route=f"auto tier={tier} -> {provider}/{model}" if tier else "simple",
                status=status,
                outcome=outcome,
                error_code="" if outcome == "ok" else "upstream",
                cancelled=r.random() < 0.05,
                latency_ms=float(r.randint(1, 30_000)),
                ttft_ms=ttft,
                prompt_tokens=r.randint(0, 5000),
                cached_tokens=r.randint(0, 100),
                cache_write_tokens=r.randint(0, 50),
                completion_tokens=r.randint(0, 900),
                reasoning_tokens=r.randint(0, 90),
                cost_picousd=r.randint(0, 10**9),
                priced=True,
                usage_reported=True,
                cache=r.choice(("off", "miss", "hit")),
                saved_picousd=r.randint(0, 10**6),
                tags=tuple(r.sample(TAGS, r.randint(0, 2))),
                metadata=None,
                end_user=r.choice((None, None, "cust-1")),
            )
        )
    return found


@pytest.fixture(
    params=[pytest.param("postgresql", marks=[pytest.mark.postgres]), pytest.param("sqlite")]
)
def database(request: pytest.FixtureRequest) -> str:
    fixture = "fresh_pg" if request.param == "postgresql" else "migrated_sqlite"
    url: str = request.getfixturevalue(fixture)
    return url


async def write(engine: AsyncEngine, records: list[RequestRecord]) -> None:
    async with engine.begin() as conn:
        await SqlRequestLog(conn).add_all(records)


def answer(groups: list[Any]) -> list[tuple[Any, ...]]:
    return [(g.bucket, g.keys, tuple(g.totals.metric(name) for name in METRICS)) for g in groups]


def hour(n: int) -> str:
    return (START + timedelta(hours=n)).strftime("%Y-%m-%dT%H")


RANGES = (
    (None, None),
    (hour(0), hour(HOURS)),  # whole days, and the hours of the last one
    (hour(24), hour(48)),  # one whole day
    (hour(5), hour(71)),  # cut at both ends
    (hour(30), hour(41)),  # within one day
    (hour(13), None),
    (None, hour(50)),
)
REPORTS: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = (
    (("team_id", "model"), {"org_id": "org-a"}),
    (("provider", "model"), {}),
    (("org_id", "provider"), {}),
    (("tier",), {"org_id": "org-b"}),
    (("status_class", "dialect"), {"provider": "openai"}),
    (("key_id",), {"team_id": "team-a1"}),
    (("user_id",), {"org_id": "org-a"}),
    (("tag",), {"org_id": "org-a"}),
    (("tag",), {}),
    ((), {"tag": "nightly"}),
    (("org_id",), {"tag": "user=cust-1"}),
    ((), {}),
)


async def test_the_narrow_rollups_answer_as_the_hourly_ones(database: str) -> None:
    engine = create_engine(database)
    sync = create_sync_engine(database)
    try:
        records = history()
        late = records[-20:]
        await write(engine, records[:-20])
        folder = AnalyticsFolder(sync, batch=97)
        until = START + timedelta(hours=HOURS)
        assert folder.fold(until) == len(records) - 20
        # written behind the watermark in hours already folded: the reconciliation redoes them
        await write(engine, late)
        assert folder.reconcile(hours=HOURS + 1)
        with sync.connect() as conn:
            total = conn.execute(
                sa.select(sa.func.sum(analytics_hourly.c.requests)).where(
                    analytics_hourly.c.tag == ""
                )
            ).scalar()
        assert total == len(records)

        for by, filters in REPORTS:
            assert narrow_for(set(by) | set(filters)) is not None, by
            for since, until_ in RANGES:
                for bucket in ("hour", "day", "month", None):
                    which = AnalyticsFilter(**filters, since=since, until=until_)
                    kw: dict[str, Any] = {"by": by, "bucket": bucket, "limit": 10_000}
                    narrow = await crossed(engine, which, **kw)
                    wide = await crossed(engine, which, **kw, narrow=False)
                    assert answer(narrow) == answer(wide), (by, filters, since, until_, bucket)
                    # the first few groups are the first few of all of them
                    kw["limit"] = 3
                    for path in (True, False):
                        first = await crossed(engine, which, **kw, narrow=path)
                        assert answer(first) == answer(wide)[:3], (by, filters, bucket, path)
                    if since is None and until_ is None and "org_id" not in filters:
                        assert narrow, (by, filters)  # the history has some of each

        first, last = date(2026, 11, 2), date(2026, 11, 5)
        for scope, scope_id in (
            ("org_id", "org-a"),
            ("team_id", "team-b1"),
            ("key_id", "key-team-a2-1"),
        ):
            which = AnalyticsFilter(**{scope: scope_id})
            days = await crossed(engine, which, by=(), bucket="day", limit=100, narrow=False)
            expected = {
                date.fromisoformat(g.bucket): int(g.totals.sums[8]) for g in days
            }  # cost_picousd
            assert await daily_spend(engine, scope, scope_id, first, last) == expected
            assert await spend_since(engine, scope, scope_id, None) == sum(expected.values())
            since_day = date(2026, 11, 3)
            assert await spend_since(engine, scope, scope_id, since_day) == sum(
                v for d, v in expected.items() if d >= since_day
            )

        for org in (None, "org-a"):
            traffic = await model_traffic(engine, org_id=org, team_id=None, since=hour(24))
            wide = await crossed(
                engine,
                AnalyticsFilter(org_id=org, since=hour(24)),
                by=("team_id", "provider", "model"),
                bucket=None,
                limit=10_000,
                narrow=False,
            )
            assert sorted(
                (t.team_id, t.provider, t.model, t.requests, t.cost_picousd) for t in traffic
            ) == sorted((*g.keys, g.totals.metric("requests"), int(g.totals.sums[8])) for g in wide)

        # derived again from the hourly rollups, every narrow row is what the fold made
        def snapshot() -> list[Any]:
            with sync.connect() as conn:
                return [
                    sorted(tuple(row) for row in conn.execute(sa.select(table)))
                    for table in (analytics_by_model, analytics_by_key)
                ]

        before = snapshot()
        with sync.begin() as conn:
            rederive_hours(conn, hours_folded(conn))
        assert snapshot() == before
    finally:
        await engine.dispose()
        sync.dispose()


async def test_the_migration_derives_the_narrow_rollups_and_the_tag_index_of_what_was_there(
    database: str,
) -> None:
    """Made again by the migration from the hourly rollups and the request log (as on a
    database folded before it), the narrow rollups and the tag index are what the fold and the
    writer made."""
    engine = create_engine(database)
    sync = create_sync_engine(database)
    tables = (*NARROW_TABLES.values(), request_tags)
    try:
        await write(engine, history(seed=11)[:300])
        AnalyticsFolder(sync, batch=50).fold(START + timedelta(hours=HOURS))

        def snapshot() -> list[Any]:
            with sync.connect() as conn:
                found = []
                for table in tables:
                    rows = [dict(row._mapping) for row in conn.execute(sa.select(table))]
                    for row in rows:
                        if isinstance(row.get("ts"), datetime):
                            row["ts"] = row["ts"].replace(tzinfo=None)
                        for name in ("latency_sum_ms", "ttft_sum_ms"):
                            if name in row:
                                row[name] = round(row[name], 6)
                    found.append(sorted(sorted(row.items()) for row in rows))
                return found

        made = snapshot()
        assert all(made)
        sync.dispose()
        downgrade(database, "0022_cache_savings")
        upgrade(database)
        assert snapshot() == made
    finally:
        await engine.dispose()
        sync.dispose()
