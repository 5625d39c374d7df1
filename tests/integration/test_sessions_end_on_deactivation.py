"""Without Redis, dashboard sessions live in the database: deactivating a person ends them in the
deactivation's own transaction, on SQLite too, where a connection of its own would wait on that
transaction's write lock (SQLite's busy timeout, 30 s) and fail."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from application.teams.commands import CreateOrg
from application.teams.dashboard_sessions import StoredSession
from application.teams.user_commands import ChangeUser, CreateUser
from infrastructure.db.tables import outbox, sso_sessions
from interfaces.bootstrap import Container
from tests.integration.conftest import migrated_database, serving_container

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_sessions_end") as url:
        yield url


@pytest.fixture
async def container(database_url: str) -> AsyncIterator[Container]:
    async with serving_container(database_url) as made:
        yield made


async def sessions_of(container: Container, user_id: str) -> int:
    async with container.engine.connect() as conn:
        count = await conn.execute(
            sa.select(sa.func.count())
            .select_from(sso_sessions)
            .where(sso_sessions.c.user_id == user_id)
        )
        return int(count.scalar_one())


async def test_deactivating_ends_the_persons_sessions_at_once(container: Container) -> None:
    assert container.sso is not None
    store = container.sso.sessions.store
    org = await container.bus.handle(CreateOrg(name="sessions", actor="test"))
    user = await container.bus.handle(
        CreateUser(org_id=org.id, email="dora@example.com", role="member", actor="test")
    )
    other = await container.bus.handle(
        CreateUser(org_id=org.id, email="otto@example.com", role="member", actor="test")
    )
    now = time.time()
    for n, person in enumerate((user, user, other)):
        await store.create(
            StoredSession(
                id_hash=f"{n:064x}",
                user_id=person.id,
                org_id=org.id,
                connection_id="c",
                csrf_hash="0" * 64,
                created_at=now,
                last_seen=now,
                expires_at=now + 3600,
            ),
            idle=600,
        )
    assert await sessions_of(container, user.id) == 2

    started = time.monotonic()
    await container.bus.handle(ChangeUser(user_id=user.id, actor="test", active=False))
    assert time.monotonic() - started < 5  # no wait on a lock

    assert await sessions_of(container, user.id) == 0
    assert await sessions_of(container, other.id) == 1  # nobody else's
    async with container.engine.connect() as conn:  # every subscriber handled the change
        pending = await conn.execute(
            sa.select(outbox.c.type).where(outbox.c.dispatched_at.is_(None))
        )
        assert list(pending.scalars()) == []
