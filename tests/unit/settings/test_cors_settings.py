"""`server.cors_origins`: empty by default (CORS off), a list in the file, a comma-separated
`FLUXROUTER_SERVER_CORS_ORIGINS`, and an origin that is not one refused with its key named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, Settings, load_settings
from interfaces.http.cors import cors_config


def load(directory: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def test_off_by_default(tmp_path: Path) -> None:
    assert load(tmp_path).server.cors_origins == []
    assert cors_config([]) is None


def test_the_file_and_the_environment(tmp_path: Path) -> None:
    text = "server: {cors_origins: ['https://app.example.com', 'http://localhost:3000']}\n"
    origins = load(tmp_path, text).server.cors_origins
    assert origins == ["https://app.example.com", "http://localhost:3000"]
    env = {"FLUXROUTER_SERVER_CORS_ORIGINS": " https://a.example , https://b.example:8443,"}
    assert load(tmp_path, text, env).server.cors_origins == [
        "https://a.example",
        "https://b.example:8443",
    ]
    assert load(tmp_path, text, {"FLUXROUTER_SERVER_CORS_ORIGINS": ""}).server.cors_origins == []
    config = cors_config(["*"])
    assert config is not None
    assert config.is_allow_all_origins
    assert not config.allow_credentials


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "ftp://x.example", "https://a b", ""]
)
def test_what_is_not_an_origin_is_refused(tmp_path: Path, origin: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, f"server: {{cors_origins: ['https://ok.example', '{origin}']}}\n")
    assert "server.cors_origins[1]" in str(raised.value)
