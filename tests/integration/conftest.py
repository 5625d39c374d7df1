"""Integration fixtures: migrated databases (PostgreSQL and SQLite) and wired containers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from infrastructure.settings import load_settings
from interfaces.bootstrap import Container, bootstrap
from migrations.runner import upgrade
from tests.support.services import postgres_database


@pytest.fixture(scope="module")
def migrated_pg() -> Iterator[str]:
    with postgres_database("fluxrouter_it") as url:
        upgrade(url)
        yield url


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'it.db'}"
    upgrade(url)
    return url


def container_for(database_url: str, **env: str) -> Container:
    settings, _ = load_settings(
        None, environ={"FLUXROUTER_DATABASE_URL": database_url, **env}, cwd=Path("/nonexistent")
    )
    return bootstrap(settings)


@pytest.fixture
async def pg_container(migrated_pg: str) -> AsyncIterator[Container]:
    container = container_for(migrated_pg, FLUXROUTER_WORKERS_EMBEDDED="false")
    yield container
    await container.engine.dispose()
    container.sync_engine.dispose()
