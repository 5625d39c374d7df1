"""Integration fixtures: migrated databases (PostgreSQL and SQLite) and wired containers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from infrastructure.security.audit_signing import SigningKey, ensure_signing_key
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


@contextmanager
def migrated_database(kind: str, directory: Path, name: str) -> Iterator[str]:
    """A migrated database of its own: a SQLite file `name`.db in `directory` ("sqlite"), or a
    PostgreSQL database `name`, dropped afterwards ("postgresql")."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / name}.db"
        upgrade(url)
        yield url
        return
    with postgres_database(name) as url:
        upgrade(url)
        yield url


def container_for(database_url: str, **env: str) -> Container:
    settings, _ = load_settings(
        None, environ={"FLUXROUTER_DATABASE_URL": database_url, **env}, cwd=Path("/nonexistent")
    )
    return bootstrap(settings)


@asynccontextmanager
async def serving_container(database_url: str) -> AsyncIterator[Container]:
    """A container on the database without embedded workers, its engines disposed after."""
    container = container_for(database_url, FLUXROUTER_WORKERS_EMBEDDED="false")
    try:
        yield container
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()


@pytest.fixture
async def pg_container(migrated_pg: str) -> AsyncIterator[Container]:
    async with serving_container(migrated_pg) as container:
        yield container


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, for suites that tamper with its rows."""
    with postgres_database("fluxrouter_audit") as url:
        upgrade(url)
        yield url


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    """A fresh audit signing key in the test's directory."""
    return ensure_signing_key(tmp_path / "audit.key")[0]


@pytest.fixture
async def pg(fresh_pg: str) -> AsyncIterator[Container]:
    async with serving_container(fresh_pg) as container:
        yield container


@pytest.fixture
async def lite(migrated_sqlite: str) -> AsyncIterator[Container]:
    async with serving_container(migrated_sqlite) as container:
        yield container
