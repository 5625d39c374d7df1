"""The analytics fold on both databases: the request log's records folded in batches by
(ts, id), each exactly once however the batches fall and however often the fold runs, records
written later folded on the next run, histograms merged across batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from domains.billing import histogram
from domains.billing.request_log import RequestRecord
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.tables import analytics_hourly, analytics_watermark
from infrastructure.projections.analytics_fold import (
    CACHE_HITS,
    AnalyticsFolder,
    bucket_sql,
    register_math,
    status_class,
    tier_of,
)
from tests.support.request_records import request_record

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def record(at: datetime, latency: float, *, tags: tuple[str, ...] = ()) -> RequestRecord:
    return request_record(
        at,
        dialect="messages",
        stream=True,
        requested_model="auto",
        model="claude-haiku",
        upstream_model="claude-haiku",
        provider="anthropic",
        deployment="anthropic/claude-haiku",
        route="auto tier=simple points=0 -> anthropic/claude-haiku",
        latency_ms=latency,
        ttft_ms=latency / 2,
        prompt_tokens=10,
        cached_tokens=4,
        cache_write_tokens=2,
        completion_tokens=5,
        reasoning_tokens=1,
        cost_picousd=7,
        tags=tags,
    )


@pytest.fixture(
    params=[pytest.param("postgresql", marks=[pytest.mark.postgres]), pytest.param("sqlite")]
)
def database(request: pytest.FixtureRequest) -> str:
    fixture = "fresh_pg" if request.param == "postgresql" else "migrated_sqlite"
    url: str = request.getfixturevalue(fixture)
    return url


async def write(url: str, records: list[RequestRecord]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await SqlRequestLog(conn).add_all(records)
    finally:
        await engine.dispose()


def rollups(url: str) -> dict[tuple[str, str], tuple[int, ...]]:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(analytics_hourly)).all()
            mark = conn.execute(sa.select(analytics_watermark.c.folded)).scalar()
    finally:
        engine.dispose()
    found = {
        (row.hour, row.tag): (
            row.requests,
            row.prompt_tokens,
            row.cached_tokens,
            row.cost_picousd,
            row.ttft_count,
            sum(histogram.decode(row.latency_hist).values()),
        )
        for row in rows
    }
    assert {(row.tier, row.status_class, row.dialect) for row in rows} == {
        ("simple", "2xx", "messages")
    }
    found[("folded", "")] = (int(mark or 0),)
    return found


async def test_records_are_folded_once_whatever_the_batches(database: str) -> None:
    first = [record(START + timedelta(minutes=10 * i), 100.0 * (i + 1)) for i in range(7)]
    first[0] = record(START, 100.0, tags=("nightly",))
    await write(database, first)
    folder = AnalyticsFolder(create_sync_engine(database), batch=2)
    until = START + timedelta(days=1)
    assert folder.fold(until) == 7
    assert folder.fold(until) == 0  # nothing new: nothing changes
    # 10:00 to 10:50 holds 6 records, 11:00 one; "nightly" only the first
    assert rollups(database) == {
        ("2026-11-02T10", ""): (6, 60, 24, 42, 6, 6),
        ("2026-11-02T11", ""): (1, 10, 4, 7, 1, 1),
        ("2026-11-02T10", "nightly"): (1, 10, 4, 7, 1, 1),
        ("folded", ""): (7,),
    }
    # written later (after the watermark), in an hour already folded and in a new one
    await write(
        database,
        [record(START + timedelta(minutes=65), 50.0), record(START + timedelta(hours=30), 5.0)],
    )
    assert folder.fold(until) == 1  # the second ended after `until`
    assert rollups(database)[("2026-11-02T11", "")] == (2, 20, 8, 14, 2, 2)
    assert folder.fold(START + timedelta(days=2)) == 1
    assert rollups(database)[("2026-11-03T16", "")] == (1, 10, 4, 7, 1, 1)


async def test_records_written_behind_the_watermark_are_folded_by_the_reconciliation(
    database: str,
) -> None:
    await write(database, [record(START + timedelta(minutes=m), 10.0) for m in (5, 30, 70)])
    folder = AnalyticsFolder(create_sync_engine(database), batch=1000)
    assert folder.fold(START + timedelta(days=1)) == 3
    # a record of 10:40 written after the fold passed 11:10 (a spool replayed late)
    await write(database, [record(START + timedelta(minutes=40), 10.0)])
    assert folder.fold(START + timedelta(days=1)) == 0  # behind the watermark: not seen
    assert rollups(database)[("2026-11-02T10", "")][0] == 2
    assert folder.reconcile(hours=3) == ["2026-11-02T10"]
    after = rollups(database)
    assert after[("2026-11-02T10", "")] == (3, 30, 12, 21, 3, 3)
    assert after[("2026-11-02T11", "")] == (1, 10, 4, 7, 1, 1)
    assert folder.reconcile(hours=3) == []  # every hour agrees now


def expected_rollups(records: list[RequestRecord]) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """The rollups summed record by record in Python, as the database's grouping must."""
    found: dict[tuple[str, ...], list[Any]] = {}
    for r in records:
        base = (
            r.ts.strftime("%Y-%m-%dT%H"),
            r.user_id or "",
            r.model,
            status_class(r.status),
            tier_of(r.route),
        )
        for tag in ["", *sorted(set(r.tags))]:
            row = found.setdefault((*base, tag), [0, 0, 0, 0, 0, 0, 0.0, {}, {}])
            row[0] += 1
            row[1] += r.outcome == "error"
            row[2] += r.cancelled
            row[3] += r.cost_picousd
            row[4] += r.cache in CACHE_HITS
            row[5] += r.ttft_ms is not None
            row[6] += r.latency_ms
            histogram.add(row[7], r.latency_ms)
            if r.ttft_ms is not None:
                histogram.add(row[8], r.ttft_ms)
    return {
        key: (*values[:6], round(values[6], 6), values[7], values[8])
        for key, values in found.items()
    }


async def test_the_database_groups_records_as_python_would(database: str) -> None:
    """Latencies on and around the histogram's bounds, missing TTFTs, tiers, tags, users,
    errors, cancels and cache hits: each rollup row equals the record-by-record sum."""
    bounds = [2 ** (i / histogram.PER_DOUBLING) for i in (1, 4, 5, 40, 95, 96, 97)]
    latencies = [0.0, 0.5, 1.0, 1.000001, 3.3, 1e9, *bounds, *(b * (1 + 1e-7) for b in bounds)]
    routes = [
        "openai/gpt-4o",
        "auto tier=simple points=0 -> anthropic/claude-haiku",
        "auto tier=reasoning points=9 -> openai/o3",
        "tier=complex_but_very_long_tier_name points=4",
        "auto size=1200tok deep",
    ]
    records = []
    for i, latency in enumerate(latencies * 3):
        r = record(
            START + timedelta(minutes=7 * i),
            latency,
            tags=(("nightly",), (), ("eval", "nightly"))[i % 3],
        )
        records.append(
            msgspec.structs.replace(
                r,
                ttft_ms=None if i % 4 == 0 else latency / 3,
                route=routes[i % len(routes)],
                user_id=("alice", None)[i % 2],
                model=("claude-haiku", "gpt-4o")[i % 2],
                status=(200, 429, 500, 200)[i % 4],
                outcome="error" if i % 4 in (1, 2) else "ok",
                cancelled=i % 5 == 0,
                cache=("hit", "semantic_hit", "miss", "off")[i % 4],
                cost_picousd=1000 + i,
            )
        )
    await write(database, records)
    assert AnalyticsFolder(create_sync_engine(database), batch=7).fold(
        START + timedelta(days=3)
    ) == len(records)
    engine = create_sync_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(analytics_hourly)).all()
    finally:
        engine.dispose()
    assert {
        (row.hour, row.user_id, row.model, row.status_class, row.tier, row.tag): (
            row.requests,
            row.errors,
            row.cancelled,
            row.cost_picousd,
            row.cache_hits,
            row.ttft_count,
            round(row.latency_sum_ms, 6),
            histogram.decode(row.latency_hist),
            histogram.decode(row.ttft_hist),
        )
        for row in rows
    } == expected_rollups(records)


def test_python_math_on_a_sqlite_without_its_own_buckets_alike() -> None:
    """On a SQLite built without math functions the fold registers Python's `log2` and `ceil`:
    with them, the SQL bucket is `histogram.bucket_of`."""
    values = [0.0, 0.5, 1.0, 1.5, 2.0, 2**0.25, 2**0.25 * (1 + 1e-7), 1e3, 1e12]
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            register_math(conn.connection.driver_connection)
            bucket = bucket_sql("sqlite", sa.column("v", sa.Float()))
            got = [
                conn.execute(
                    sa.select(bucket).select_from(sa.text("(SELECT :x AS v)")), {"x": v}
                ).scalar_one()
                for v in values
            ]
    finally:
        engine.dispose()
    assert got == [histogram.bucket_of(v) for v in values]
