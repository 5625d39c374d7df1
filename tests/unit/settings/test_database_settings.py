"""`database.migrate_url`: where migrations run (default: `database.url`), from the file or
`FLUXROUTER_DATABASE_MIGRATE_URL`, of the same kind of database, never echoed in an error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, load_settings

APP = "postgresql+psycopg://fluxrouter_app:app-secret@db/fluxrouter"
OWNER = "postgresql+psycopg://fluxrouter_owner:owner-secret@db/fluxrouter"


def test_migrations_run_where_the_gateway_connects_unless_told(tmp_path: Path) -> None:
    database = load_settings(None, {"FLUXROUTER_DATABASE_URL": APP}, tmp_path)[0].database
    assert database.migrate_url is None
    assert database.migration_url == APP


def test_the_migrate_url_from_the_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "fluxrouter.yaml").write_text(
        textwrap.dedent(f"""\
            database:
              url: {APP}
              migrate_url: {OWNER}
        """),
        encoding="utf-8",
    )
    database = load_settings(None, {}, tmp_path)[0].database
    assert (database.url, database.migration_url) == (APP, OWNER)
    other = OWNER.replace("@db/", "@db-direct:5432/")
    env = {"FLUXROUTER_DATABASE_MIGRATE_URL": other}
    assert load_settings(None, env, tmp_path)[0].database.migration_url == other
    cleared = {"FLUXROUTER_DATABASE_MIGRATE_URL": ""}
    assert load_settings(None, cleared, tmp_path)[0].database.migration_url == APP


def test_another_kind_of_database_is_refused_without_repeating_the_url(tmp_path: Path) -> None:
    env = {"FLUXROUTER_DATABASE_URL": APP, "FLUXROUTER_DATABASE_MIGRATE_URL": "sqlite:///x.db"}
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env, tmp_path)
    message = str(caught.value)
    assert message.startswith("FLUXROUTER_DATABASE_MIGRATE_URL: ")
    assert "same kind of database as database.url (postgresql), got sqlite" in message
    env = {"FLUXROUTER_DATABASE_MIGRATE_URL": OWNER}  # against the default, SQLite
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env, tmp_path)
    assert "owner-secret" not in str(caught.value)
