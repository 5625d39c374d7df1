"""Each provider's own model listing, through the admin API and `fluxrouter providers sync`."""

from __future__ import annotations

import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]


def test_configured_providers_are_listed_without_their_keys(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        answer = admin.get("/providers")
    assert answer.status_code == 200
    providers = {p["name"]: p for p in answer.json()}
    assert set(providers) >= {"openai", "local", "anthropic", "gemini"}
    assert providers["anthropic"]["kind"] == "anthropic"
    claude = {m["name"]: m for m in providers["anthropic"]["models"]}["claude-haiku-4-5"]
    assert claude == {
        "name": "claude-haiku-4-5",
        "upstream": "claude-haiku-4-5",
        "max_output_tokens": 1024,
        "priced": True,
    }
    assert UPSTREAM_KEY not in answer.text


@pytest.mark.parametrize(
    ("provider", "offered", "unconfigured"),
    [
        ("openai", "gpt-4o-mini", "gpt-4.1-nano"),
        ("local", "gpt-4o-mini", "gpt-4.1-nano"),
        ("anthropic", "claude-haiku-4-5", "claude-opus-4-1"),
        ("gemini", "gemini-2.5-flash", "gemini-2.5-pro"),
    ],
)
def test_each_provider_lists_its_models_from_its_own_api(
    gateway: GatewayProcess, provider: str, offered: str, unconfigured: str
) -> None:
    with gateway.admin() as admin:
        answer = admin.get(f"/providers/{provider}/upstream-models")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["error"] is None
    assert offered in found["upstream"]
    assert offered in found["configured"]
    assert unconfigured in found["not_configured"]
    assert offered not in found["missing_upstream"]


def test_unknown_provider_is_404(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        answer = admin.get("/providers/nope/upstream-models")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_providers_sync_prints_what_to_add(gateway: GatewayProcess) -> None:
    result = gateway.fluxrouter("providers", "sync", "--provider", "gemini")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gemini (gemini):" in result.stdout
    assert "- {name: gemini-2.5-pro}" in result.stdout
    missing = gateway.fluxrouter("providers", "sync", "--provider", "nope")
    assert missing.returncode == 2
