"""The `websocket` settings: defaults, the file, `FLUXROUTER_WEBSOCKET_*` overrides, and errors
that name the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, Settings, load_settings


def load(directory: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def test_defaults(tmp_path: Path) -> None:
    ws = load(tmp_path).websocket
    assert (ws.max_generations, ws.max_message_bytes, ws.auth_timeout) == (8, 1048576, 5.0)
    assert (ws.idle_timeout, ws.ping_interval, ws.ping_timeout) == (300.0, 20.0, 20.0)
    assert ws.frame_limit == 2 * 1048576
    assert (ws.responses_max_lifetime, ws.responses_lifetime_grace) == (3600.0, 300.0)


def test_the_file_and_the_environment(tmp_path: Path) -> None:
    text = "websocket: {max_generations: 2, idle_timeout: 30, ping_interval: 0}\n"
    env = {
        "FLUXROUTER_WEBSOCKET_MAX_MESSAGE_BYTES": "4096",
        "FLUXROUTER_WEBSOCKET_AUTH_TIMEOUT": "1.5",
    }
    ws = load(tmp_path, text, env).websocket
    assert (ws.max_generations, ws.idle_timeout, ws.ping_interval) == (2, 30.0, 0.0)
    assert (ws.max_message_bytes, ws.auth_timeout) == (4096, 1.5)
    assert ws.frame_limit == 4096 + 65536


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("websocket: {max_generations: 0}\n", {}, "websocket.max_generations: must be between 1"),
        ("websocket: {idle_timeout: -1}\n", {}, "websocket.idle_timeout: must be between 1"),
        ("websocket: {max_message_bytes: 10}\n", {}, "websocket.max_message_bytes: must be"),
        ("websocket: {pings: 3}\n", {}, "websocket.pings: unknown key"),
        ("", {"FLUXROUTER_WEBSOCKET_AUTH_TIMEOUT": "soon"}, "FLUXROUTER_WEBSOCKET_AUTH_TIMEOUT"),
        ("", {"FLUXROUTER_WEBSOCKET_NOPE": "1"}, "unknown config key websocket.nope"),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, env)
    assert expected in str(caught.value)
