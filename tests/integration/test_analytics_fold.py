"""The analytics fold on both databases: the request log's records folded in batches by
(ts, id), each exactly once however the batches fall and however often the fold runs, records
written later folded on the next run, histograms merged across batches."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from domains.billing import histogram
from domains.billing.request_log import RequestRecord
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.tables import analytics_hourly, analytics_watermark
from infrastructure.projections.analytics_fold import AnalyticsFolder

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def record(at: datetime, latency: float, *, tags: tuple[str, ...] = ()) -> RequestRecord:
    return RequestRecord(
        id=secrets.token_hex(16),
        ts=at,
        request_id=secrets.token_hex(8),
        org_id="org-f",
        team_id="team-f",
        user_id=None,
        key_id="key-f",
        dialect="messages",
        transport="http",
        stream=True,
        requested_model="auto",
        model="claude-haiku",
        upstream_model="claude-haiku",
        provider="anthropic",
        deployment="anthropic/claude-haiku",
        route="auto tier=simple points=0 -> anthropic/claude-haiku",
        status=200,
        outcome="ok",
        error_code="",
        cancelled=False,
        latency_ms=latency,
        ttft_ms=latency / 2,
        prompt_tokens=10,
        cached_tokens=4,
        cache_write_tokens=2,
        completion_tokens=5,
        reasoning_tokens=1,
        cost_picousd=7,
        priced=True,
        usage_reported=True,
        cache="off",
        tags=tags,
        metadata=None,
        end_user=None,
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
