"""Routing policies and wildcard routes through the running gateway, on both shapes: a denial
is a 403 naming the rule in each dialect's error shape and nothing goes upstream; a pinned team
reaches only the self-hosted (OpenAI-compatible) provider; a `max_tokens` cap and a forced model
reach the upstream; `provider/<any name>` reaches the provider by that name, priced from its
wildcard or refused under a USD budget when unpriced; a rule change is one audit row naming it;
`fluxrouter policies test` tells which rule a request meets."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI, RecordedRequest
from tests.support.gateway import GatewayProcess, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

LOCAL_PREFIX = "/local"  # the self-hosted provider's requests reach the fake under this path


def config(database_url: str, redis_url: str | None, upstream: str, team: str | None) -> Any:
    price = {"input_per_mtok": 1, "output_per_mtok": 2}
    policies: list[dict[str, Any]] = [
        {
            "name": "tagged-no-gpt-4o",
            "match": {"tags": "blocked"},
            "effects": {"deny_models": ["gpt-4o"]},
        },
        {"name": "mini-cap", "match": {"model": "*mini"}, "effects": {"max_tokens": 7}},
        {
            "name": "legacy-forced",
            "match": {"model": "legacy-*"},
            "effects": {"force_model": "gpt-4o-mini"},
        },
    ]
    if team is not None:  # the second start: the team is pinned to self-hosted models
        policies.insert(
            0, {"name": "pinned-team", "match": {"team": team}, "effects": {"pin": "self_hosted"}}
        )
    return {
        "database": {"url": database_url},
        "redis": {"url": redis_url},
        "billing": {"limits_reload_seconds": 0.2},
        "routing": {"policies": policies},
        "providers": [
            {
                "name": "openai",
                "kind": "openai",
                "base_url": upstream,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "models": [
                    {"name": "gpt-4o", "price": price},
                    {"name": "gpt-4o-mini", "price": price},
                    {"name": "*", "price": price},
                ],
            },
            {
                "name": "local",
                "kind": "openai-compatible",
                "base_url": upstream.replace("/v1", f"{LOCAL_PREFIX}/v1"),
                "api_key": "${TEST_UPSTREAM_KEY}",
                "models": [{"name": "llama", "upstream": "gpt-4o-mini"}, {"name": "*"}],
            },
        ],
    }


class Policed:
    def __init__(self, gateway: GatewayProcess, fake: FakeOpenAI, tenant: Tenant, pinned: Tenant):
        self.gateway, self.fake, self.tenant, self.pinned = gateway, fake, tenant, pinned

    def chat(
        self, model: str, *, key: str | None = None, tags: str | None = None, **body: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.tenant.key}"}
        if tags is not None:
            headers["x-fluxrouter-tags"] = tags
        message = {"role": "user", "content": "hello policies"}
        return httpx.post(
            f"{self.gateway.base_url}/v1/chat/completions",
            json={"model": model, "messages": [message], **body},
            headers=headers,
            timeout=10,
        )

    def upstream_calls(self, since: int) -> list[RecordedRequest]:
        return [r for r in self.fake.requests[since:] if r.path.endswith("/chat/completions")]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def policed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Policed]:
    """A gateway of the module's own on each shape: started once with the policies, a tenant
    and a pinned tenant created, then restarted with a rule pinning the second one's team."""
    with (
        FakeOpenAI(expected_key=UPSTREAM_KEY) as fake,
        own_gateway(
            request.param,
            tmp_path_factory.mktemp(f"gateway-policies-{request.param}"),
            functools.partial(config, upstream=fake.base_url, team=None),
            upstream_key=UPSTREAM_KEY,
            with_worker=False,
        ) as gateway,
    ):
        with gateway.admin() as admin:
            tenant = create_tenant(admin, "policies")
            pinned = create_tenant(admin, "pinned")
        path = Path(gateway.env["FLUXROUTER_CONFIG"])
        first = yaml.safe_load(path.read_text())
        second = config(
            first["database"]["url"], first["redis"]["url"], fake.base_url, pinned.team_id
        )
        path.write_text(yaml.safe_dump(second))
        gateway.restart()
        yield Policed(gateway, fake, tenant, pinned)


def test_a_denial_is_a_403_naming_the_rule_in_each_dialect(policed: Policed) -> None:
    before = len(policed.fake.requests)
    openai = policed.chat("gpt-4o", tags="eu, blocked")
    assert openai.status_code == 403, openai.text
    error = openai.json()["error"]
    assert (error["type"], error["code"]) == ("permission_error", "policy_denied")
    assert "`tagged-no-gpt-4o`" in error["message"]

    base, key = policed.gateway.base_url, policed.tenant.key
    anthropic = httpx.post(
        f"{base}/v1/messages",
        json={"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]},
        headers={
            "x-api-key": key,
            "anthropic-version": "2023-06-01",
            "x-fluxrouter-tags": "blocked",
        },
        timeout=10,
    )
    assert anthropic.status_code == 403, anthropic.text
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "permission_error"
    assert "`tagged-no-gpt-4o`" in anthropic.json()["error"]["message"]

    gemini = httpx.post(
        f"{base}/v1beta/models/gpt-4o:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
        headers={"x-goog-api-key": key, "x-fluxrouter-tags": "blocked"},
        timeout=10,
    )
    assert gemini.status_code == 403, gemini.text
    assert gemini.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "`tagged-no-gpt-4o`" in gemini.json()["error"]["message"]
    assert policed.upstream_calls(before) == []  # nothing went upstream

    # without the tag, or for another model, the rule does not apply
    assert policed.chat("gpt-4o").status_code == 200
    assert policed.chat("openai/gpt-4o", tags="other").status_code == 200


def test_a_pinned_team_reaches_only_the_self_hosted_provider(policed: Policed) -> None:
    key = policed.pinned.key
    refused = policed.chat("gpt-4o", key=key)
    assert refused.status_code == 403, refused.text
    assert "`pinned-team`" in refused.json()["error"]["message"]
    assert policed.chat("openai/any-model", key=key).status_code == 403
    before = len(policed.fake.requests)
    for model in ("llama", "local/llama", "local/qwen-7b"):
        answered = policed.chat(model, key=key)
        assert answered.status_code == 200, answered.text
    calls = policed.upstream_calls(before)
    assert [call.path for call in calls] == [f"{LOCAL_PREFIX}/v1/chat/completions"] * 3
    assert [call.json["model"] for call in calls] == ["gpt-4o-mini", "gpt-4o-mini", "qwen-7b"]


def test_a_max_tokens_cap_reaches_the_upstream_lowered(policed: Policed) -> None:
    before = len(policed.fake.requests)
    assert policed.chat("gpt-4o-mini", max_tokens=500).status_code == 200
    assert policed.chat("gpt-4o-mini").status_code == 200  # asks for no limit: given the cap
    assert policed.chat("gpt-4o-mini", max_tokens=3).status_code == 200  # below it: kept
    streamed = policed.chat("gpt-4o-mini", max_completion_tokens=900, stream=True)
    assert streamed.status_code == 200
    sent = [call.json for call in policed.upstream_calls(before)]
    assert sent[0]["max_tokens"] == 7
    assert sent[1]["max_completion_tokens"] == 7  # OpenAI's own API: the newer field
    assert sent[2]["max_tokens"] == 3
    assert sent[3]["max_completion_tokens"] == 7


def test_a_forced_model_is_the_one_called(policed: Policed) -> None:
    before = len(policed.fake.requests)
    answered = policed.chat("legacy-davinci", max_tokens=50)
    assert answered.status_code == 200, answered.text
    (call,) = policed.upstream_calls(before)
    assert call.json["model"] == "gpt-4o-mini"
    assert call.json["max_tokens"] == 50  # the forced model's request, no other rule applied


def test_a_wildcard_model_reaches_the_provider_by_its_name(policed: Policed) -> None:
    before = len(policed.fake.requests)
    answered = policed.chat("openai/gpt-5-nano-2031")
    assert answered.status_code == 200, answered.text
    (call,) = policed.upstream_calls(before)
    assert (call.path, call.json["model"]) == ("/v1/chat/completions", "gpt-5-nano-2031")
    assert policed.chat("gpt-5-nano-2031").status_code == 404  # a bare name is not a wildcard's

    listed = httpx.get(
        f"{policed.gateway.base_url}/v1/models",
        headers={"Authorization": f"Bearer {policed.tenant.key}"},
        timeout=10,
    ).json()["data"]
    ids = [model["id"] for model in listed]
    assert "openai/*" in ids
    assert "local/*" in ids
    assert "*" not in ids


def test_an_unpriced_wildcard_is_refused_under_a_usd_budget(policed: Policed) -> None:
    with policed.gateway.admin() as admin:
        tenant = create_tenant(admin, "wild-budget")
        budget = admin.put(f"/keys/{tenant.key_id}/budget", json={"period": "month", "max_usd": 5})
        assert budget.status_code == 200, budget.text

    def refused() -> httpx.Response | None:
        answer = policed.chat("local/unpriced-model", key=tenant.key)
        return answer if answer.status_code == 403 else None

    answer = eventually(refused, timeout=10)  # once the limits are reloaded
    assert answer.json()["error"]["code"] == "model_unpriced"
    priced = policed.chat("openai/priced-by-wildcard", key=tenant.key)
    assert priced.status_code == 200, priced.text
    # the wildcard priced through the admin API: its models are served from then on
    with policed.gateway.admin() as admin:
        price = {"input_per_mtok": "0.5", "output_per_mtok": "1"}
        assert admin.put("/prices/local/*", json=price).status_code == 200
    eventually(lambda: policed.chat("local/unpriced-model", key=tenant.key).status_code == 200)


def test_a_rule_change_is_one_audit_row_naming_it(policed: Policed) -> None:
    with policed.gateway.admin() as admin:
        rows = admin.get("/audit", params={"action": "config.change", "limit": 100}).json()["rows"]
    assert len(rows) == 2  # the first start, then the restart with the pinned team
    first, second = sorted(rows, key=lambda row: row["seq"])
    assert "policies/mini-cap" in first["data"]["added"]
    assert "openai/*" in first["data"]["added"]
    assert {key: second["data"][key] for key in ("added", "removed", "changed")} == {
        "added": ["policies/pinned-team"],
        "removed": [],
        "changed": [],
    }


def test_the_cli_tells_which_rule_a_request_meets(policed: Policed) -> None:
    gateway = policed.gateway
    pinned = gateway.fluxrouter(
        "policies", "test", "--team", policed.pinned.team_id, "--model", "gpt-4o"
    )
    assert pinned.returncode == 1, pinned.stderr
    assert "rule: pinned-team" in pinned.stdout
    assert "pinned-team: pin: self_hosted" in pinned.stdout
    assert "outcome: refused, 403 policy_denied" in pinned.stdout
    capped = gateway.fluxrouter("policies", "test", "--team", "t", "--model", "openai/o-mini")
    assert capped.returncode == 0, capped.stdout + capped.stderr
    assert "rule: mini-cap" in capped.stdout
    assert "route: openai/o-mini (wildcard) → upstream model o-mini (openai)" in capped.stdout
    assert "max_tokens: at most 7 output tokens" in capped.stdout
