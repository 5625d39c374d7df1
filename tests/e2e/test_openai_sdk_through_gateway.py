"""The production shape end to end: the official `openai` SDK against the gateway process
(PostgreSQL, Redis, a separate Dramatiq worker), which calls the fake upstream."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import openai
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.matrix import OPENAI_TOOLS
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def client(gateway: GatewayProcess, tenant: Tenant) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)


@pytest.mark.parametrize("model", ["gpt-4o-mini", "openai/gpt-4o", "llama3.1"])
def test_streaming_text_equals_plain_text(client: openai.OpenAI, model: str) -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "tell me about gateways please"},
    ]
    plain = client.chat.completions.create(model=model, messages=messages)
    stream = client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert plain.choices[0].message.content == "Echo: tell me about gateways please"
    assert "".join(pieces) == plain.choices[0].message.content
    assert usage is not None
    assert plain.usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        plain.usage.prompt_tokens,
        plain.usage.completion_tokens,
    )


def test_usage_chunk_only_when_asked(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "no usage please"}],
        stream=True,
    )
    chunks = list(stream)
    assert chunks, "the stream carried no chunk"
    assert all(chunk.choices for chunk in chunks), "a usage-only chunk reached the client"
    assert all(chunk.usage is None for chunk in chunks)


def test_tool_calls_pass_through_plain_and_streamed(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "find fluxrouter"}]
    plain = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=OPENAI_TOOLS
    )
    call = plain.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert plain.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "search"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"query": "find fluxrouter"}  # type: ignore[union-attr]

    arguments: dict[int, str] = {}
    finish = None
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=OPENAI_TOOLS, stream=True
    ):
        for delta_call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            arguments[delta_call.index] = arguments.get(delta_call.index, "") + (
                delta_call.function.arguments or "" if delta_call.function else ""
            )
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert finish == "tool_calls"
    assert arguments == {0: call.function.arguments}  # type: ignore[union-attr]


@pytest.mark.parametrize("model", ["text-embedding-3-small", "nomic-embed"])
def test_embeddings_float_and_base64_agree(client: openai.OpenAI, model: str) -> None:
    floats = client.embeddings.create(model=model, input=["a b c", "d"], encoding_format="float")
    default = client.embeddings.create(model=model, input=["a b c", "d"])  # SDK asks base64
    assert len(floats.data) == 2
    assert [d.embedding for d in floats.data] == [d.embedding for d in default.data]
    assert floats.usage.prompt_tokens == 4


def test_models_lists_what_the_key_may_use(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        limited = create_tenant(admin, "limited", models=["gpt-4o-mini", "local/llama3.1"])
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=limited.key, max_retries=0)
    listed = {model.id: model.owned_by for model in client.models.list()}
    models = {"gpt-4o-mini": "openai", "llama3.1": "local"}
    virtual = dict.fromkeys(("auto", "fast", "cheap", "quality"), "fluxrouter")  # docs/routing.md
    assert listed == {**models, **virtual}
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_errors_map_to_the_sdk_exceptions(client: openai.OpenAI, gateway: GatewayProcess) -> None:
    hello: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="no-such-model", messages=hello)
    assert unknown.value.status_code == 404
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="fake-error-500", messages=hello)
    assert failed.value.status_code == 502
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="fake-error-429", messages=hello)
    assert limited.value.response.headers["retry-after"] == "7"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake-error-400", messages=hello)
    bad = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="fr-" + "x" * 43, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o-mini", messages=hello)


def test_upstream_timeout_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as slow:
        client.chat.completions.create(
            model="fake-slow", messages=[{"role": "user", "content": "hi"}]
        )
    assert slow.value.status_code == 504


def test_revoked_key_is_refused(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        doomed = create_tenant(admin, "doomed")
        client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=doomed.key, max_retries=0)
        client.models.list()  # cached as valid first
        assert admin.delete(f"/keys/{doomed.key_id}").status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_usage_is_reported_tokens_times_price(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "billing")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    expected_cost = Decimal(0)
    prices = {
        "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
        "gpt-4o": (Decimal("2.5"), Decimal("10")),
    }
    totals = {"gpt-4o-mini": [0, 0], "gpt-4o": [0, 0]}
    for index, model in enumerate(["gpt-4o-mini", "gpt-4o", "gpt-4o-mini"]):
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "word " * (index + 3)}]
        )
        assert reply.usage is not None
        totals[model][0] += reply.usage.prompt_tokens
        totals[model][1] += reply.usage.completion_tokens
        price_in, price_out = prices[model]
        expected_cost += (
            reply.usage.prompt_tokens * price_in + reply.usage.completion_tokens * price_out
        ) / Decimal(1_000_000)

    def rows() -> dict[str, Any]:
        with gateway.admin() as admin:
            answer = admin.get("/usage", params={"group_by": "key"})
        assert answer.status_code == 200, answer.text
        mine = [row for row in answer.json()["rows"] if row["key"] == tenant.key_id]
        return mine[0] if mine and mine[0]["requests"] == 3 else {}

    row = eventually(rows)
    assert row["input_tokens"] == totals["gpt-4o-mini"][0] + totals["gpt-4o"][0]
    assert row["output_tokens"] == totals["gpt-4o-mini"][1] + totals["gpt-4o"][1]
    assert Decimal(row["cost_usd"]) == expected_cost


def test_audit_has_admin_actions_and_completions_and_verifies(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "audited")
        client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "audit me"}]
        )

        def completions() -> list[Any]:
            rows = admin.get(
                "/audit", params={"actor": f"key:{tenant.key_id}", "action": "chat.completion"}
            ).json()["rows"]
            return rows

        rows = eventually(completions)
        assert rows[0]["target"] == "model:openai/gpt-4o-mini"
        assert rows[0]["data"]["input_tokens"] > 0
        targets = (f"org:{tenant.org_id}", f"team:{tenant.team_id}", f"key:{tenant.key_id}")
        actions = {
            row["action"]
            for target in targets
            for row in admin.get("/audit", params={"target": target}).json()["rows"]
        }
        assert {"org.create", "team.create", "key.create"} <= actions
        verify = admin.get("/audit/verify", params={"full": "true"}).json()
        assert verify["ok"] is True
        assert verify["checked"] == verify["head_seq"] > 0  # the whole chain, recomputed
