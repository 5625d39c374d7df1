"""Audit pages on both databases: every filter and time window, paged at any size, holds exactly
the rows a plain filter over the whole log finds, rows appended out of time order included."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain import AuditRow, chain_row, format_ts
from infrastructure.db.engine import create_engine
from infrastructure.db.repositories.audit import SqlAuditLog
from infrastructure.queries.audit import audit_page, iter_audit
from tests.integration.conftest import migrated_database

START = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = 200


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("pages")
    with migrated_database(request.param, directory, "fluxrouter_pages") as url:
        yield url


def _log(seed: int = 3) -> list[AuditRow]:
    """A chain whose `ts` mostly rises with `seq`: neighbours swapped, some rows hours late."""
    rng = random.Random(seed)
    rows: list[AuditRow] = []
    head: tuple[int, str] | None = None
    for n in range(ROWS):
        moment = START + timedelta(minutes=n)
        if rng.random() < 0.05:
            moment -= timedelta(hours=rng.randrange(1, 5))  # retried much later
        elif rng.random() < 0.2:
            moment -= timedelta(seconds=rng.randrange(90))
        row = chain_row(
            prev=head,
            ts=format_ts(moment),
            actor=rng.choice(["admin", "cli", "key:a", "key:b"]),
            action=rng.choice(["team.create", "key.create", "chat.completion"]),
            target=rng.choice(["team:t1", "team:t2", "model:openai/gpt-4o"]),
            data={"n": n},
        )
        rows.append(row)
        head = (row.seq, row.hash)
    return rows


@asynccontextmanager
async def _loaded(database_url: str, log: list[AuditRow]) -> AsyncIterator[AsyncEngine]:
    """An engine on the database with `log` appended to its audit log; disposed afterwards."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await SqlAuditLog(conn).append_all([(row, f"e{row.seq}") for row in log])
        yield engine
    finally:
        await engine.dispose()


async def test_every_page_holds_exactly_the_matching_rows(database_url: str) -> None:
    log = _log()
    async with _loaded(database_url, log) as engine:
        hour = timedelta(hours=1)
        windows: list[tuple[datetime | None, datetime | None]] = [
            (None, None),
            (START + 3 * hour, START + 4 * hour),
            (START + 5 * hour, None),
            (None, START + hour),
            (START + 2 * hour, START + 2 * hour),
            (START - 10 * hour, START + 100 * hour),
        ]
        filters: list[dict[str, str]] = [
            {},
            {"actor": "key:a"},
            {"action": "team.create", "target": "team:t2"},
            {"target": "model:openai/gpt-4o"},
            {"actor": "nobody"},
        ]
        for since, until in windows:
            for chosen in filters:
                expected = [
                    row.seq
                    for row in log
                    if all(getattr(row, name) == value for name, value in chosen.items())
                    and (since is None or row.ts >= format_ts(since))
                    and (until is None or row.ts < format_ts(until))
                ]
                for limit in (5, 1000):
                    got: list[int] = []
                    after = 0
                    while True:
                        page = await audit_page(
                            engine,
                            after_seq=after,
                            limit=limit,
                            since=since,
                            until=until,
                            **chosen,
                        )
                        got += [row.seq for row in page]
                        if len(page) < limit:
                            break
                        after = page[-1].seq
                    assert got == expected, (since, until, chosen, limit)
        # The rows come back whole, with their data.
        (first,) = await audit_page(engine, limit=1)
        assert first == log[0]


async def test_a_range_is_read_from_its_first_seq_to_its_last_in_pages(database_url: str) -> None:
    log = _log()
    async with _loaded(database_url, log) as engine:
        for first, last, batch in [(1, ROWS, 1000), (17, 143, 10), (17, 26, 10), (5, 5, 1)]:
            read = [
                row async for row in iter_audit(engine, from_seq=first, to_seq=last, batch=batch)
            ]
            assert read == log[first - 1 : last]
        tail = [row async for row in iter_audit(engine, from_seq=ROWS - 2, batch=2)]
        assert tail == log[-3:]
