"""The usage ledger's batch insert, on PostgreSQL (one recordset statement) and SQLite: every
text comes back as it went in, whatever it holds, and a replayed usage is not written twice."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.db.engine import create_engine
from infrastructure.db.repositories.billing import SqlUsageLedger
from infrastructure.db.tables import usage_records
from tests.integration.conftest import migrated_database
from tests.unit.samples import usage

pytestmark = pytest.mark.postgres

AWKWARD = "gpt-\"4o\"\\{mini},'x' é 漢字 \U0001f600 NULL"


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_usage_ledger") as url:
        yield url


async def test_a_batch_keeps_every_text_and_writes_a_replay_once(database_url: str) -> None:
    engine = create_engine(database_url)
    first = usage(model=AWKWARD, request_id="r-1", user_id=None, cost_usd=Decimal("0.000123"))
    second = usage(
        usage_id="usage-2",
        source_event_id="event-2",
        request_id='r-"2"',
        team_id="t\\2",
        input_tokens=2_000_000_000,
        cached_tokens=1_000_000_000,
        cache_write_5m_tokens=300_000_000,
        cache_write_1h_tokens=200_000_000,
        output_tokens=2_000_000_000,
        reasoning_tokens=1_999_999_999,
    )
    try:
        async with engine.begin() as conn:
            written = await SqlUsageLedger(conn).add_all([first, second])
        async with engine.begin() as conn:
            again = await SqlUsageLedger(conn).add_all([first])
        async with engine.connect() as conn:
            rows = {
                row.source_event_id: row for row in await conn.execute(sa.select(usage_records))
            }
    finally:
        await engine.dispose()

    assert written == {first.source_event_id, second.source_event_id}
    assert again == set()  # already there: nothing new, nothing published again
    assert len(rows) == 2
    kept = rows[first.source_event_id]
    assert (kept.model, kept.request_id, kept.user_id) == (AWKWARD, "r-1", None)
    assert kept.cost_picousd == 123_000_000
    assert kept.ts == first.occurred_at
    other = rows[second.source_event_id]
    assert (other.request_id, other.team_id, other.input_tokens) == ('r-"2"', "t\\2", 2_000_000_000)
    assert (
        other.cached_tokens,
        other.cache_write_5m_tokens,
        other.cache_write_1h_tokens,
        other.reasoning_tokens,
    ) == (1_000_000_000, 300_000_000, 200_000_000, 1_999_999_999)
    assert (kept.cache_write_5m_tokens, kept.cache_write_1h_tokens, kept.reasoning_tokens) == (
        0,
        0,
        0,
    )
