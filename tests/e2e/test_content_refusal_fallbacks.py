"""Fallbacks on content refusals (`routing.content_policy_fallbacks`), through the running
gateway on both shapes, against fake upstreams that refuse in each provider's own wire format:
OpenAI's 400 `content_policy_violation` and its `finish_reason: "content_filter"`, Anthropic's
`stop_reason: "refusal"`, Gemini's `finishReason: SAFETY` / `PROHIBITED_CONTENT` and its blocked
prompt (`promptFeedback.blockReason`). A refused answer, whole or streamed, is replaced by the
fallback's, the route header says why, and every attempt is a usage row; without the setting a
refusal is answered as it was."""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

PRICE = {"input_per_mtok": 1, "output_per_mtok": 2}

REFUSING = {
    # model: (the upstream name that refuses, the fake that serves it, the fallback's provider)
    "policy": ("fake-content-policy", "openai", "claude"),
    "filtered": ("fake-content-filter", "openai", "claude"),
    "declines": ("fake-refusal", "anthropic", "claude"),
    "unsafe": ("fake-safety", "gemini", "oa"),
    "prohibited": ("fake-prohibited", "gemini", "oa"),
    "blocked": ("fake-blocked-prompt", "gemini", "oa"),
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic, FakeGemini() as gemini:
        yield {"openai": openai, "anthropic": anthropic, "gemini": gemini}


def refusal_config(
    database_url: str, redis_url: str | None, fakes: dict[str, Any]
) -> dict[str, Any]:
    def models(kind: str) -> list[dict[str, Any]]:
        return [
            {"name": name, "upstream": upstream, "price": PRICE}
            for name, (upstream, fake, _) in REFUSING.items()
            if fake == kind
        ]

    return {
        "database": {"url": database_url},
        "redis": {"url": redis_url},
        "logging": {"level": "info", "format": "json"},
        "routing": {
            "retries": 1,
            "backoff_base_seconds": 0.01,
            "backoff_max_seconds": 0.05,
            "content_policy_fallbacks": {
                name: ["claude-ok" if fallback == "claude" else "backup"]
                for name, (_, _, fallback) in REFUSING.items()
            },
        },
        "providers": [
            {
                "name": "oa",
                "kind": "openai",
                "base_url": fakes["openai"].base_url,
                "api_key": "sk-refusals-openai",
                "models": [
                    *models("openai"),
                    {"name": "backup", "upstream": "gpt-4o-mini", "price": PRICE},
                    # no content_policy_fallbacks: a refusal is the answer, as it always was
                    {"name": "plain-filtered", "upstream": "fake-content-filter", "price": PRICE},
                    {"name": "plain-policy", "upstream": "fake-content-policy", "price": PRICE},
                ],
            },
            {
                "name": "claude",
                "kind": "anthropic",
                "base_url": fakes["anthropic"].base_url,
                "api_key": "sk-ant-refusals",
                "models": [
                    *models("anthropic"),
                    {"name": "claude-ok", "upstream": "claude-sonnet-4-5", "price": PRICE},
                ],
            },
            {
                "name": "gem",
                "kind": "gemini",
                "base_url": fakes["gemini"].base_url,
                "api_key": "gm-refusals-key",
                "models": models("gemini"),
            },
        ],
    }


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    fakes: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    for fake in fakes.values():
        fake.clear()  # each shape's usage rows are compared with what the fakes saw since
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-refusals-{request.param}"),
        functools.partial(refusal_config, fakes=fakes),
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tenant(gateway: GatewayProcess) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"refusals-{secrets.token_hex(3)}")


def ask(
    gateway: GatewayProcess, tenant: Tenant, model: str, *, stream: bool = False
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi there"}]}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    )


def seen(fakes: dict[str, Any], upstream: str) -> int:
    """Requests the fakes got for the upstream model `upstream` (Gemini's: in its path)."""
    return sum(
        1
        for fake in fakes.values()
        for request in fake.requests
        if (isinstance(request.json, dict) and request.json.get("model") == upstream)
        or f"/models/{upstream}:" in request.path
    )


def usage_requests(gateway: GatewayProcess) -> dict[str, int]:
    with gateway.admin() as admin:
        answer = admin.get("/usage", params={"group_by": "model"})
    assert answer.status_code == 200, answer.text
    return {row["model"]: row["requests"] for row in answer.json()["rows"]}


def streamed_text(answer: httpx.Response) -> str:
    text = ""
    for line in answer.text.splitlines():
        if line.startswith("data: {"):
            for choice in httpx.Response(200, content=line[6:]).json().get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", list(REFUSING))
def test_a_refused_answer_is_replaced_by_its_content_policy_fallback(
    gateway: GatewayProcess, tenant: Tenant, model: str, stream: bool
) -> None:
    answer = ask(gateway, tenant, model, stream=stream)
    assert answer.status_code == 200, answer.text
    _, _, fallback = REFUSING[model]
    assert answer.headers["x-fluxrouter-provider"] == fallback
    route = answer.headers["x-fluxrouter-route"]
    assert f"content refusal fallback from {model}" in route
    assert "content refusal" in route.split(";")[1]  # "after <refused deployment> content refusal"
    if stream:
        assert answer.text.rstrip().endswith("data: [DONE]")
        assert "content_filter" not in answer.text
        assert streamed_text(answer)
    else:
        (choice,) = answer.json()["choices"]
        assert choice["finish_reason"] == "stop"
        assert choice["message"]["content"]


def test_without_the_setting_a_refusal_is_the_answer_as_before(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    filtered = ask(gateway, tenant, "plain-filtered")
    assert filtered.status_code == 200
    assert filtered.json()["choices"][0]["finish_reason"] == "content_filter"
    assert filtered.headers["x-fluxrouter-route"] == "only oa/plain-filtered"
    streamed = ask(gateway, tenant, "plain-filtered", stream=True)
    assert streamed.status_code == 200
    assert '"finish_reason":"content_filter"' in streamed.text.replace(" ", "")
    policy = ask(gateway, tenant, "plain-policy")
    assert policy.status_code == 400
    assert policy.json()["error"]["type"] == "invalid_request_error"


def test_the_anthropic_front_door_falls_over_on_a_refusal_too(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    answer = httpx.post(
        f"{gateway.base_url}/v1/messages",
        json={
            "model": "declines",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi there"}],
        },
        headers={"x-api-key": tenant.key, "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stop_reason"] == "end_turn"
    assert answer.json()["content"][0]["text"]
    assert "content refusal fallback from declines" in answer.headers["x-fluxrouter-route"]


def test_every_attempt_is_a_usage_row(
    gateway: GatewayProcess, tenant: Tenant, fakes: dict[str, Any]
) -> None:
    # the models of each upstream name: their rows together are the requests it got
    served_by: dict[str, list[str]] = {
        upstream: [model] for model, (upstream, _, _) in REFUSING.items()
    }
    served_by["fake-content-filter"].append("plain-filtered")
    served_by["fake-content-policy"].append("plain-policy")
    served_by["claude-sonnet-4-5"] = ["claude-ok"]
    served_by["gpt-4o-mini"] = ["backup"]
    expected = {upstream: seen(fakes, upstream) for upstream in served_by}
    assert all(expected.values())

    def rows() -> dict[str, int]:
        found = usage_requests(gateway)
        return {
            upstream: sum(found.get(model, 0) for model in models)
            for upstream, models in served_by.items()
        }

    with contextlib.suppress(AssertionError):
        eventually(lambda: rows() == expected, timeout=20)
    assert rows() == expected
