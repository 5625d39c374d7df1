"""Each provider's own model listing, through the admin API and `fluxrouter providers sync`."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

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


def test_where_providers_are_is_shown_to_the_operator_only(gateway: GatewayProcess) -> None:
    with gateway.admin() as root:
        as_operator = root.get("/providers")
        tenant = create_tenant(root, "catalog-viewer")
        people = {}
        for role in ("viewer", "admin", "owner"):
            made = root.post(
                "/users",
                json={"org_id": tenant.org_id, "email": f"catalog-{role}@x.io", "role": role},
            )
            assert made.status_code == 201, made.text
            token = root.post(f"/users/{made.json()['id']}/tokens", json={})
            assert token.status_code == 201, token.text
            people[role] = token.json()["token"]
    assert as_operator.status_code == 200
    upstream = {p["name"]: p for p in as_operator.json()}["openai"]["base_url"]
    assert upstream.startswith("http://127.0.0.1:")
    for role, token in people.items():
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"{gateway.base_url}/admin/v1/providers", headers=headers)
        assert answer.status_code == 200, (role, answer.text)
        listed = {p["name"]: p for p in answer.json()}
        assert set(listed["openai"]) == {"name", "kind", "models"}, role
        assert (
            listed["openai"]["models"]
            == {p["name"]: p for p in as_operator.json()}["openai"]["models"]
        )
        assert upstream not in answer.text
        assert "127.0.0.1" not in answer.text


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
