"""The connection limits in `server` and `websocket`: defaults, the file, `FLUXROUTER_*`
overrides, and errors that name the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, Settings, load_settings


def load(directory: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def test_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    server = settings.server
    assert (server.header_timeout, server.body_timeout) == (15.0, 60.0)
    assert (server.max_connections, server.max_connections_per_ip) == (10000, 500)
    assert server.trusted_proxies == []
    assert settings.websocket.max_connections_per_key == 50


def test_the_file_and_the_environment(tmp_path: Path) -> None:
    text = "server: {header_timeout: 2.5, trusted_proxies: [10.0.0.0/8, '::1']}\n"
    env = {
        "FLUXROUTER_SERVER_MAX_CONNECTIONS_PER_IP": "20",
        "FLUXROUTER_SERVER_BODY_TIMEOUT": "5",
        "FLUXROUTER_WEBSOCKET_MAX_CONNECTIONS_PER_KEY": "3",
    }
    settings = load(tmp_path, text, env)
    assert settings.server.header_timeout == 2.5
    assert settings.server.trusted_proxies == ["10.0.0.0/8", "::1"]
    assert (settings.server.max_connections_per_ip, settings.server.body_timeout) == (20, 5.0)
    assert settings.websocket.max_connections_per_key == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: {header_timeout: 0}\n", "server.header_timeout: must be between 0.1 and 3600"),
        ("server: {body_timeout: .nan}\n", "server.body_timeout: must be between"),
        ("server: {max_connections: 0}\n", "server.max_connections: must be between 1"),
        ("server: {max_connections_per_ip: -1}\n", "server.max_connections_per_ip: must be"),
        ("server: {trusted_proxies: [proxy.local]}\n", "server.trusted_proxies[0]: must be an IP"),
        ("websocket: {max_connections_per_key: 0}\n", "websocket.max_connections_per_key: must"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert expected in str(caught.value)
