"""`serve` skips alembic only when the database is at the latest migration, read without it."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from interfaces.commands.schema_check import at_head, head_revisions
from migrations.runner import alembic_config, downgrade, upgrade


def test_the_heads_are_alembic_s() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revisions() == set(scripts.get_heads())


def test_only_a_database_at_the_latest_migration_is_at_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/schema.db"
    assert not at_head(url)  # no version table yet
    upgrade(url)
    assert at_head(url)
    downgrade(url, "-1")
    assert not at_head(url)
    upgrade(url)
    assert at_head(url)
