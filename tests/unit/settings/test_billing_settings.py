"""The billing settings and a model's output limit: defaults, the file, ``FLUXROUTER_BILLING_*``
overrides, the errors naming the key, and the limit carried into the provider catalog."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.adapters.providers.factory import build_catalog
from infrastructure.settings import ConfigError, Settings, load_settings


def load(directory: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def error(directory: Path, text: str, env: dict[str, str] | None = None) -> str:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env or {}, directory)
    message = str(caught.value)
    assert "\n" not in message
    return message


def provider(models: str) -> str:
    return f"providers:\n  - {{name: p, kind: openai, base_url: 'http://x', models: {models}}}\n"


# --- billing ----------------------------------------------------------------------------------


def test_billing_defaults_refuse_unpriced_and_reserve_4096_output_tokens(tmp_path: Path) -> None:
    billing = load_settings(None, {}, tmp_path)[0].billing
    assert (billing.unpriced, billing.default_max_output_tokens) == ("refuse", 4096)
    assert load(tmp_path, "billing:\n").billing == billing


def test_billing_from_the_file(tmp_path: Path) -> None:
    text = "billing: {unpriced: tokens_only, default_max_output_tokens: 1024}\n"
    billing = load(tmp_path, text).billing
    assert (billing.unpriced, billing.default_max_output_tokens) == ("tokens_only", 1024)


def test_billing_env_overrides(tmp_path: Path) -> None:
    env = {
        "FLUXROUTER_BILLING_UNPRICED": "tokens_only",
        "FLUXROUTER_BILLING_DEFAULT_MAX_OUTPUT_TOKENS": "8192",
    }
    text = "billing: {unpriced: refuse, default_max_output_tokens: 1}\n"
    billing = load(tmp_path, text, env).billing
    assert (billing.unpriced, billing.default_max_output_tokens) == ("tokens_only", 8192)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "billing: {unpriced: free}\n",
            'fluxrouter.yaml: billing.unpriced: must be one of refuse, tokens_only, got "free"',
        ),
        (
            "billing: {default_max_output_tokens: 0}\n",
            "fluxrouter.yaml: billing.default_max_output_tokens: must be >= 1, got 0",
        ),
        (
            "billing: {default_max_output_tokens: lots}\n",
            'fluxrouter.yaml: billing.default_max_output_tokens: expected an integer, got "lots"',
        ),
        (
            "billing: {unpriced_policy: refuse}\n",
            "fluxrouter.yaml: billing.unpriced_policy: unknown key",
        ),
    ],
)
def test_billing_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == message


def test_billing_override_errors_name_the_variable(tmp_path: Path) -> None:
    message = error(tmp_path, "", {"FLUXROUTER_BILLING_UNPRICED": "free"})
    assert message == 'FLUXROUTER_BILLING_UNPRICED: must be one of refuse, tokens_only, got "free"'
    message = error(tmp_path, "", {"FLUXROUTER_BILLING_DEFAULT_MAX_OUTPUT_TOKENS": "-5"})
    assert message == "FLUXROUTER_BILLING_DEFAULT_MAX_OUTPUT_TOKENS: must be >= 1, got -5"
    message = error(tmp_path, "", {"FLUXROUTER_BILLING_UNPRICD": "refuse"})
    assert message.startswith("FLUXROUTER_BILLING_UNPRICD: unknown config key billing.unpricd")


# --- a model's max_output_tokens --------------------------------------------------------------


def test_model_max_output_tokens_reaches_the_catalog(tmp_path: Path) -> None:
    settings = load(tmp_path, provider("[{name: a, max_output_tokens: 16384}, {name: b}]"))
    assert [m.max_output_tokens for m in settings.providers[0].models] == [16384, None]
    routes = build_catalog(settings.providers).routes()
    assert [(r.name, r.max_output_tokens) for r in routes] == [("a", 16384), ("b", None)]
    assert build_catalog(settings.providers).resolve("p/a").max_output_tokens == 16384


@pytest.mark.parametrize(
    ("value", "problem"),
    [("0", "must be >= 1, got 0"), ("-1", "must be >= 1, got -1")],
)
def test_model_max_output_tokens_must_be_positive(tmp_path: Path, value: str, problem: str) -> None:
    message = error(tmp_path, provider(f"[{{name: a, max_output_tokens: {value}}}]"))
    assert message == f"fluxrouter.yaml: providers[0].models[0].max_output_tokens: {problem}"


def test_model_max_output_tokens_must_be_an_integer(tmp_path: Path) -> None:
    message = error(tmp_path, provider("[{name: a, max_output_tokens: 1.5}]"))
    assert message.startswith("fluxrouter.yaml: providers[0].models[0].max_output_tokens: ")
    assert "expected an integer" in message
