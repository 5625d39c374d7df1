"""Migration 0013 on a database that holds orgs, teams and keys already, on SQLite and
PostgreSQL: the rows keep their values and get no metadata and no deletion; it also goes back
down and up again (SQLite drops the columns in place: its tables are referred to by others)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from infrastructure.db.engine import sync_url
from migrations.runner import downgrade, upgrade
from tests.support.services import postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fluxrouter.db'}"
        return
    with postgres_database("fluxrouter_mig13") as url:
        yield url


def test_existing_rows_survive_the_migration_both_ways(database_url: str) -> None:
    upgrade(database_url, "0010")
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs VALUES ('o1', 'acme', '2026-01-01 00:00:00')"))
            conn.execute(
                text("INSERT INTO teams VALUES ('t1', 'o1', 'eng', '2026-01-01 00:00:00')")
            )
            conn.execute(
                text(
                    "INSERT INTO virtual_keys (id, team_id, org_id, name, prefix, secret_hash, "
                    "created_at) VALUES ('k1', 't1', 'o1', 'ci', 'fr-abcdefgh', 'h', "
                    "'2026-01-01 00:00:00')"
                )
            )
        upgrade(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name, metadata, deleted_at FROM teams")).all() == [
                ("eng", None, None)
            ]
            assert conn.execute(text("SELECT name, metadata FROM virtual_keys")).all() == [
                ("ci", None)
            ]
        downgrade(database_url, "0010")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, name FROM orgs")).all() == [("o1", "acme")]
        upgrade(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT deleted_at FROM orgs")).all() == [(None,)]
    finally:
        engine.dispose()
