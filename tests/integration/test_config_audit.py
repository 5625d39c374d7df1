"""A change of configuration is audited once, with no secret, however many replicas start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from application.providers.config_audit import RecordConfig
from domains.providers.config_change import changes
from infrastructure.db.tables import audit_log
from interfaces.bootstrap import Container
from interfaces.config_summary import summary_of
from tests.integration.conftest import container_for
from tests.support.services import postgres_database

pytestmark = pytest.mark.postgres


def _settings_env(workdir: Path, price: str, key: str) -> dict[str, str]:
    provider = {
        "name": "openai",
        "kind": "openai",
        "base_url": "https://api.example/v1",
        "api_key": key,
        "models": [
            {"name": "gpt-4o-mini", "price": {"input_per_mtok": price, "output_per_mtok": 0.6}},
            {"name": "gpt-4o"},
        ],
    }
    path = workdir / f"fluxrouter-{price}.yaml"
    path.write_text(yaml.safe_dump({"providers": [provider]}))
    return {"FLUXROUTER_CONFIG": str(path), "FLUXROUTER_WORKERS_EMBEDDED": "false"}


@pytest.fixture
async def database() -> AsyncIterator[str]:
    from migrations.runner import upgrade

    with postgres_database("fluxrouter_config") as url:
        upgrade(url)
        yield url


async def _config_rows(container: Container) -> list[Any]:
    async with container.engine.connect() as conn:
        query = sa.select(audit_log).where(audit_log.c.action == "config.change")
        return list(await conn.execute(query.order_by(audit_log.c.seq)))


async def test_a_change_is_audited_once_and_without_secrets(database: str, tmp_path: Path) -> None:
    env = _settings_env(tmp_path, "0.15", "sk-first-secret-0001")
    first = [container_for(database, **env) for _ in range(3)]
    try:
        # three replicas start at once with the same configuration: one row
        await asyncio.gather(
            *(c.bus.handle(RecordConfig(summary=summary_of(c.settings))) for c in first)
        )
        rows = await _config_rows(first[0])
        assert len(rows) == 1
        assert '"openai/gpt-4o-mini"' in rows[0].data
        # a restart with the same configuration records nothing
        await first[0].bus.handle(RecordConfig(summary=summary_of(first[0].settings)))
        assert len(await _config_rows(first[0])) == 1
    finally:
        for container in first:
            await container.engine.dispose()
            container.sync_engine.dispose()

    second = container_for(database, **_settings_env(tmp_path, "0.2", "sk-rotated-secret-0002"))
    try:
        await second.bus.handle(RecordConfig(summary=summary_of(second.settings)))
        rows = await _config_rows(second)
        assert len(rows) == 2
        latest = rows[-1].data
        assert '"changed":["openai","openai/gpt-4o-mini"]' in latest.replace(" ", "")
        everything = " ".join(str(row.data) for row in rows)
        for secret in ("sk-first-secret-0001", "sk-rotated-secret-0002"):
            assert secret not in everything
    finally:
        await second.engine.dispose()
        second.sync_engine.dispose()


def test_changes_name_providers_models_and_sections() -> None:
    before = {
        "providers": {"a": {"kind": "openai", "models": {"m1": {"price": None}, "m2": {}}}},
        "billing": {"unpriced": "refuse"},
    }
    after = {
        "providers": {
            "a": {"kind": "openai", "models": {"m1": {"price": "1"}, "m3": {}}},
            "b": {"kind": "gemini", "models": {}},
        },
        "billing": {"unpriced": "tokens_only"},
    }
    assert changes(before, after) == {
        "added": ["b", "a/m3"],
        "removed": ["a/m2"],
        "changed": ["a/m1", "billing"],
    }
    assert changes(None, before)["added"] == ["a", "a/m1", "a/m2", "billing"]
