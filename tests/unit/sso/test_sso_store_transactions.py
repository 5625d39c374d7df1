"""On SQLite, the sign-in stores' transactions that write take the write lock when they begin
(`BEGIN IMMEDIATE`): one that began as a read and then wrote would fail at once with "database
is locked" whenever another process had written since, instead of waiting its turn."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from application.teams.dashboard_sessions import StoredSession
from infrastructure.db.engine import create_engine
from infrastructure.db.tables import metadata
from infrastructure.sso.one_time import OneTimeStore
from infrastructure.sso.session_stores import SqlSessionStore


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sso.db'}")
    async with made.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield made
    await made.dispose()


def begins(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN"):
            seen.append(statement)

    return seen


async def test_the_one_time_store_writes_in_immediate_transactions(engine: AsyncEngine) -> None:
    store = OneTimeStore(engine)
    seen = begins(engine)
    await store.put("state", "abc", "data", ttl=60)
    assert await store.take("state", "abc") == "data"
    assert await store.first_time("nonce", "n1", until=time.time() + 60)
    assert seen == ["BEGIN IMMEDIATE"] * 3


async def test_the_session_store_writes_in_immediate_transactions(engine: AsyncEngine) -> None:
    store = SqlSessionStore(engine)
    seen = begins(engine)
    now = time.time()
    session = StoredSession(
        id_hash="h1",
        user_id="u1",
        org_id="o1",
        connection_id="c1",
        csrf_hash="c",
        created_at=now,
        last_seen=now,
        expires_at=now + 3600,
    )
    await store.create(session, idle=600)
    assert await store.delete("h1") is not None
    assert seen == ["BEGIN IMMEDIATE"] * 2
