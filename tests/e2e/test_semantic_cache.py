"""The semantic cache through the running gateway, on both shapes (memory; Redis), with the
official openai SDK: a paraphrase of a cached question is answered from the cache (the fake
upstream sees one call), plain and streamed, saying `semantic-hit` and its similarity; another
org, or another team of the org, never gets the entry; a changed model, tool or system prompt
is a miss; a conversation with tool results is never looked up; the request log and the
analytics count the hit and the money it saved.

Each test's system prompt carries its own word: a test's requests share a partition with no
other test's, and the fake upstream's requests are counted by it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.e2e.test_response_cache import analytics_row, records
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant

QUESTION = "What is the capital city of Austria?"
PARAPHRASE = "What's Austria's capital city?"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    def config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        made = gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )
        made["workers"] = {"analytics_every_seconds": 0.3, "analytics_settle_seconds": 0}
        return made

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-semantic-{request.param}"),
        config,
        upstream_key=UPSTREAM_KEY,
        cache={"semantic": {"enabled": True}},
    ) as process:
        yield process


@pytest.fixture(scope="module")
def admin(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with gateway.admin() as client:
        yield client


@pytest.fixture(scope="module")
def tenant(admin: httpx.Client) -> Tenant:
    return create_tenant(admin, f"semantic-{secrets.token_hex(3)}")


def sdk(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def nonce() -> str:
    return f"semantic-{secrets.token_hex(6)}"


def seen(fake: FakeOpenAI, word: str) -> int:
    return sum(1 for request in fake.requests if word in str(request.json))


def conversation(word: str, question: str, system: str = "You answer briefly.") -> list[Any]:
    return [
        {"role": "system", "content": f"{system} ({word})"},
        {"role": "user", "content": question},
    ]


def test_a_paraphrase_is_a_semantic_hit(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)
    first = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=conversation(word, QUESTION),
        temperature=0,
        extra_headers={"x-request-id": word},
    )
    second = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=conversation(word, PARAPHRASE),
        temperature=0,
        extra_headers={"x-request-id": word + "-again"},
    )
    assert first.headers["x-fluxrouter-cache"] == "miss"
    assert second.headers["x-fluxrouter-cache"] == "semantic-hit"
    similarity = float(second.headers["x-fluxrouter-cache-similarity"])
    assert 0.95 <= similarity < 1
    assert second.headers["x-fluxrouter-route"].startswith("cache semantic hit")
    assert seen(upstream, word) == 1
    live, cached = first.parse(), second.parse()
    assert cached.choices[0].message.content == live.choices[0].message.content
    assert cached.id != live.id
    miss, hit = records(admin, word), records(admin, word + "-again")
    assert (miss["cache"], hit["cache"]) == ("miss", "semantic_hit")
    assert hit["cost_usd"] == "0"
    assert hit["completion_tokens"] == miss["completion_tokens"]


def test_a_streamed_paraphrase_is_replayed_as_a_stream(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)
    finals = []
    for question in (QUESTION, PARAPHRASE):
        with client.chat.completions.stream(
            model="gpt-4o-mini",
            messages=conversation(word, question),
            temperature=0,
            stream_options={"include_usage": True},
        ) as stream:
            finals.append(stream.get_final_completion())
    assert seen(upstream, word) == 1
    live, cached = finals
    assert cached.choices[0].message.content == live.choices[0].message.content
    assert cached.choices[0].finish_reason == "stop"
    assert cached.usage == live.usage


def test_another_org_or_team_never_gets_the_entry(
    gateway: GatewayProcess, tenant: Tenant, admin: httpx.Client, upstream: FakeOpenAI
) -> None:
    other = create_tenant(admin, f"semantic-other-{secrets.token_hex(3)}")
    team = admin.post("/teams", json={"org_id": tenant.org_id, "name": nonce()})
    assert team.status_code == 201, team.text
    key = admin.post("/keys", json={"team_id": team.json()["id"], "name": nonce()})
    assert key.status_code == 201, key.text
    word = nonce()
    said = []
    for who, question in (
        (tenant.key, QUESTION),
        (other.key, PARAPHRASE),  # another org
        (key.json()["key"], PARAPHRASE),  # another team of the same org (the default scope)
        # (the exact cache shares the org's entries: a third wording)
        (tenant.key, "What's the capital city of Austria?"),
    ):
        answer = sdk(gateway, who).chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=conversation(word, question), temperature=0
        )
        said.append(answer.headers["x-fluxrouter-cache"])
    assert said == ["miss", "miss", "miss", "semantic-hit"]
    assert seen(upstream, word) == 3


def test_a_changed_model_tool_or_system_prompt_is_a_miss(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)
    tool: Any = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    first = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=conversation(word, QUESTION), temperature=0
    )
    assert first.headers["x-fluxrouter-cache"] == "miss"
    variants: list[dict[str, Any]] = [
        {"model": "gpt-4o", "messages": conversation(word, PARAPHRASE)},
        {
            "model": "gpt-4o-mini",
            "messages": conversation(word, PARAPHRASE, "You answer at length."),
        },
        {
            "model": "gpt-4o-mini",
            "messages": conversation(word, PARAPHRASE),
            "tools": [tool],
            "tool_choice": "none",
        },
        {
            "model": "gpt-4o-mini",
            "messages": conversation(word, PARAPHRASE),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": {"type": "object"}},
            },
        },
    ]
    for variant in variants:
        answer = client.chat.completions.with_raw_response.create(temperature=0, **variant)
        assert answer.headers["x-fluxrouter-cache"] == "miss", variant
        assert "x-fluxrouter-cache-similarity" not in answer.headers
    assert seen(upstream, word) == 1 + len(variants)


def test_a_conversation_with_tool_results_is_never_a_semantic_hit(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)

    def with_tool_result(question: str) -> list[Any]:
        return [
            *conversation(word, "Look up the weather."),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": question},
        ]

    said = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=with_tool_result(question), temperature=0
        ).headers["x-fluxrouter-cache"]
        for question in (QUESTION, PARAPHRASE)
    ]
    assert said == ["miss", "miss"]
    assert seen(upstream, word) == 2
    again = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=with_tool_result(QUESTION), temperature=0
    )
    assert again.headers["x-fluxrouter-cache"] == "hit"  # the exact cache still answers


def test_a_near_miss_question_is_a_miss(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)
    said = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=conversation(word, question), temperature=0
        ).headers["x-fluxrouter-cache"]
        for question in (
            QUESTION,
            "What is the capital city of Australia?",
            "Convert 10 miles to kilometers.",
            "Convert 12 miles to kilometers.",
        )
    ]
    assert said == ["miss"] * 4
    assert seen(upstream, word) == 4


def test_analytics_count_the_semantic_hits_and_the_money_saved(
    gateway: GatewayProcess, admin: httpx.Client, upstream: FakeOpenAI
) -> None:
    fresh = create_tenant(admin, f"semantic-analytics-{secrets.token_hex(3)}")
    word = nonce()
    for question in (QUESTION, PARAPHRASE, "What's the capital city of Austria?"):
        sdk(gateway, fresh.key).chat.completions.create(
            model="gpt-4o", messages=conversation(word, question), temperature=0
        )
    assert seen(upstream, word) == 1

    row = analytics_row(admin, fresh.org_id, "requests,cost_usd,cache_hits,cache_saved_usd", 3)
    assert row["cache_hits"] == 2
    assert Decimal(row["cache_saved_usd"]) == 2 * Decimal(row["cost_usd"]) > 0


def test_a_responses_paraphrase_is_a_semantic_hit_plain_and_streamed(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant.key)
    plain = [
        client.responses.with_raw_response.create(
            model="gpt-4o-mini", instructions=f"Be brief ({word}).", input=question, temperature=0
        )
        for question in (QUESTION, PARAPHRASE)
    ]
    assert [answer.headers["x-fluxrouter-cache"] for answer in plain] == ["miss", "semantic-hit"]
    assert plain[0].parse().output_text == plain[1].parse().output_text
    finals = []
    for question in (QUESTION, PARAPHRASE):
        with client.responses.stream(
            model="gpt-4o-mini", instructions=f"Be brief ({word}).", input=question, temperature=0
        ) as stream:
            finals.append(stream.get_final_response())
    assert finals[0].output_text == finals[1].output_text == plain[0].parse().output_text
    assert seen(upstream, word) == 2  # one plain, one streamed
