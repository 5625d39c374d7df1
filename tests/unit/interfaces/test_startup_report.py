"""The start-up lines name what `serve` uses without a password, and warn when nothing is
configured to serve."""

from __future__ import annotations

import pytest

from infrastructure.settings import Settings
from infrastructure.settings.model import (
    DatabaseSettings,
    ModelSettings,
    ProviderSettings,
    RedisSettings,
    ServerSettings,
)
from interfaces.startup_report import masked_url, start_lines


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite+aiosqlite:///./fluxrouter.db", "sqlite+aiosqlite:///./fluxrouter.db"),
        ("sqlite+aiosqlite:////var/lib/fr.db", "sqlite+aiosqlite:////var/lib/fr.db"),
        ("postgresql+psycopg://fr:s3cr%40t@db:5432/fr", "postgresql+psycopg://fr:***@db:5432/fr"),
        ("postgresql+psycopg://fr:p@ss@db/fr", "postgresql+psycopg://fr:***@db/fr"),
        (
            "postgresql+psycopg://fr@db/fr?password=xx&sslmode=require",
            "postgresql+psycopg://fr@db/fr?password=***&sslmode=require",
        ),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:pw@cache:6380/1", "rediss://default:***@cache:6380/1"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
    ],
)
def test_passwords_are_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_the_lines_of_a_configured_gateway() -> None:
    settings = Settings(
        server=ServerSettings(host="0.0.0.0", public_url="https://llm.example.com/"),
        database=DatabaseSettings(url="postgresql+psycopg://app:hunter2@db/fr"),
        redis=RedisSettings(url="redis://:hunter3@cache:6379/0"),
        providers=[
            ProviderSettings(
                name="openai",
                kind="openai",
                base_url="https://api.openai.com/v1",
                models=[ModelSettings(name="gpt-4o-mini"), ModelSettings(name="gpt-4o")],
            )
        ],
    )
    lines = start_lines(settings, "/etc/fluxrouter.yaml", "0.0.0.0", 8080)
    assert lines == [
        "configuration: /etc/fluxrouter.yaml",
        "database: postgresql+psycopg://app:***@db/fr",
        "redis: redis://:***@cache:6379/0",
        "1 provider, 2 models",
        "API documentation: https://llm.example.com/schema",
    ]


def test_a_wildcard_address_is_shown_as_loopback() -> None:
    lines = start_lines(Settings(), None, "0.0.0.0", 9000)
    assert lines[-1] == "API documentation: http://127.0.0.1:9000/schema"
    assert lines[0].startswith("configuration: none")
    assert lines[3] == "0 providers, 0 models"
    assert lines[4].startswith("warning: no models are configured")
