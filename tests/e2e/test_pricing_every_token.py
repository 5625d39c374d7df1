"""Every kind of token priced exactly, through the running gateway, for each provider kind
(openai, openai-compatible, anthropic, gemini) on both shapes: each fake's `fake-every-token`
reports cache reads, cache writes (Anthropic) and reasoning tokens (OpenAI, Gemini); a short
prompt is priced at the model's rates and a long one at its long-context tier's. The usage read
model, the spend answer (the ledger) and the audit rows must hold the exact counts and cost,
computed here from the configured prices (tests/support/every_token.py) with fractions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.anthropic_upstream.models import (
    EVERY_TOKEN_CACHE_READ,
    EVERY_TOKEN_CACHE_WRITE_1H,
    EVERY_TOKEN_CACHE_WRITE_5M,
)
from tests.fakes.gemini_upstream.models import EVERY_TOKEN_CACHED as GEMINI_CACHED
from tests.fakes.gemini_upstream.models import EVERY_TOKEN_THOUGHTS
from tests.fakes.openai_upstream import EVERY_TOKEN_CACHED, EVERY_TOKEN_REASONING
from tests.support.every_token import EVERY_TOKEN_MODELS
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

SHORT = "price every kind"
LONG = " ".join(f"word{i}" for i in range(150))


@dataclass(frozen=True)
class Tokens:
    """One call's tokens, nested as the gateway records them: the prompt includes the cache
    reads and writes, the output the reasoning."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0


def cost(model: str, used: Tokens) -> Fraction:
    """USD, exactly: every rate of the tier the prompt falls in (strictly above a threshold);
    an unset rate is the one it stands in for (docs/pricing.md)."""
    price = EVERY_TOKEN_MODELS[model][1]
    rates = price
    for tier in price.get("tiers", ()):
        if used.input_tokens > tier["above_input_tokens"]:
            rates = tier

    def rate(name: str, otherwise: Fraction) -> Fraction:
        return Fraction(rates[name]) if name in rates else otherwise

    plain_in, plain_out = Fraction(rates["input_per_mtok"]), Fraction(rates["output_per_mtok"])
    write_5m = rate("cache_write_5m_per_mtok", plain_in)
    written = used.cache_write_5m_tokens + used.cache_write_1h_tokens
    per_mtok = (
        (used.input_tokens - used.cached_tokens - written) * plain_in
        + used.cached_tokens * rate("cached_input_per_mtok", plain_in)
        + used.cache_write_5m_tokens * write_5m
        + used.cache_write_1h_tokens * rate("cache_write_1h_per_mtok", write_5m)
        + (used.output_tokens - used.reasoning_tokens) * plain_out
        + used.reasoning_tokens * rate("reasoning_output_per_mtok", plain_out)
    )
    return per_mtok / 1_000_000


@pytest.fixture
def tenant(gateway: GatewayProcess, request: pytest.FixtureRequest) -> Tenant:
    """A key of the test's own, under a USD budget: every call reserves and settles."""
    with gateway.admin() as admin:
        created = create_tenant(admin, f"every-token-{request.node.name[-40:]}")
        budget = admin.put(
            f"/keys/{created.key_id}/budget", json={"period": "day", "max_usd": "100"}
        )
        assert budget.status_code == 200, budget.text
    return created


@pytest.fixture
def chat(gateway: GatewayProcess, tenant: Tenant) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0
    ) as client:
        yield client


def openai_calls(client: openai.OpenAI, model: str) -> list[Any]:
    """The usage the client was shown of a plain and a streamed answer, to a short prompt and a
    long one."""
    shown: list[Any] = []
    for prompt in (SHORT, LONG):
        messages: Any = [{"role": "user", "content": prompt}]
        plain = client.chat.completions.create(model=model, messages=messages)
        assert plain.choices[0].message.content == f"Echo: {prompt}"
        shown.append(plain.usage)
        text = ""
        for chunk in client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        ):
            text += "".join(choice.delta.content or "" for choice in chunk.choices)
            if chunk.usage is not None:
                shown.append(chunk.usage)
        assert text == f"Echo: {prompt}"
    assert len(shown) == 4
    return shown


def openai_tokens(usage: Any) -> Tokens:
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    return Tokens(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cached_tokens=prompt.cached_tokens if prompt is not None else 0,
        reasoning_tokens=completion.reasoning_tokens if completion is not None else 0,
    )


def assert_recorded(
    gateway: GatewayProcess, tenant: Tenant, model: str, calls: list[Tokens]
) -> None:
    """The usage read model, the ledger (the spend answer) and the audit rows hold exactly
    these calls' tokens of every kind, and their exact cost."""
    expected = sum((cost(model, call) for call in calls), Fraction(0))
    totals = {
        field.name: sum(getattr(call, field.name) for call in calls) for field in fields(Tokens)
    }
    with gateway.admin() as admin:

        def usage_row() -> dict[str, Any] | None:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
            mine = [row for row in rows if row["key"] == tenant.key_id]
            return mine[0] if mine and mine[0]["requests"] == len(calls) else None

        row = eventually(usage_row)
        assert {name: row[name] for name in totals} == totals
        assert Fraction(Decimal(row["cost_usd"])) == expected

        def settled() -> dict[str, Any] | None:
            answer = admin.get(f"/keys/{tenant.key_id}/spend")
            assert answer.status_code == 200, answer.text
            day = {period["period"]: period for period in answer.json()["periods"]}["day"]
            done = Decimal(day["reserved_usd"]) == 0 and Decimal(day["spent_usd"]) > 0
            return day if done else None

        day = eventually(settled)
        assert Fraction(Decimal(day["spent_usd"])) == expected
        assert day["spent_tokens"] == totals["input_tokens"] + totals["output_tokens"]

        def audited() -> list[dict[str, Any]] | None:
            rows = admin.get(
                "/audit", params={"actor": f"key:{tenant.key_id}", "limit": 1000}
            ).json()["rows"]
            return rows if len(rows) == len(calls) else None

        rows = eventually(audited)
        for name, total in totals.items():
            assert sum(audit["data"].get(name, 0) for audit in rows) == total, name
        assert sum(Fraction(Decimal(audit["data"]["cost_usd"])) for audit in rows) == expected


@pytest.mark.parametrize("model", ["gpt-every-token", "local-every-token"])
def test_openai_cache_reads_and_reasoning_are_priced_exactly(
    gateway: GatewayProcess, tenant: Tenant, chat: openai.OpenAI, model: str
) -> None:
    calls = [openai_tokens(usage) for usage in openai_calls(chat, model)]
    for call in calls:
        assert (call.cached_tokens, call.reasoning_tokens) == (
            EVERY_TOKEN_CACHED,
            EVERY_TOKEN_REASONING,
        )
    threshold = EVERY_TOKEN_MODELS[model][1]["tiers"][0]["above_input_tokens"]
    assert [call.input_tokens > threshold for call in calls] == [False, False, True, True]
    assert_recorded(gateway, tenant, model, calls)


def test_responses_passed_to_openai_record_their_reasoning_and_cache_reads(
    gateway: GatewayProcess, tenant: Tenant, chat: openai.OpenAI
) -> None:
    """`/v1/responses` to an OpenAI model passes through untouched: the client sees OpenAI's
    own Responses counts, and the gateway records their cache reads and reasoning too."""
    model = "gpt-every-token"
    calls = []
    for prompt in (SHORT, LONG):
        plain = chat.responses.create(model=model, input=prompt)
        assert plain.output_text == f"Echo: {prompt}"
        with chat.responses.stream(model=model, input=prompt) as stream:
            streamed = stream.get_final_response()
        for answer in (plain, streamed):
            usage = answer.usage
            assert usage is not None
            calls.append(
                Tokens(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cached_tokens=usage.input_tokens_details.cached_tokens,
                    reasoning_tokens=usage.output_tokens_details.reasoning_tokens,
                )
            )
    for call in calls:
        assert (call.cached_tokens, call.reasoning_tokens) == (
            EVERY_TOKEN_CACHED,
            EVERY_TOKEN_REASONING,
        )
    threshold = EVERY_TOKEN_MODELS[model][1]["tiers"][0]["above_input_tokens"]
    assert [call.input_tokens > threshold for call in calls] == [False, False, True, True]
    assert_recorded(gateway, tenant, model, calls)


def test_gemini_cached_content_and_thoughts_are_priced_exactly(
    gateway: GatewayProcess, tenant: Tenant, chat: openai.OpenAI
) -> None:
    calls = [openai_tokens(usage) for usage in openai_calls(chat, "gemini-every-token")]
    for call in calls:
        assert (call.cached_tokens, call.reasoning_tokens) == (GEMINI_CACHED, EVERY_TOKEN_THOUGHTS)
    assert [call.input_tokens > 4200 for call in calls] == [False, False, True, True]
    assert_recorded(gateway, tenant, "gemini-every-token", calls)


def test_anthropic_cache_reads_and_writes_are_priced_exactly(
    gateway: GatewayProcess, tenant: Tenant, chat: openai.OpenAI
) -> None:
    model = "claude-every-token"
    written = EVERY_TOKEN_CACHE_WRITE_5M + EVERY_TOKEN_CACHE_WRITE_1H
    # through /v1/chat/completions: the OpenAI shape has no place for cache writes, which are
    # in its prompt_tokens; the fake's breakdown is what the gateway records
    calls = []
    for usage in openai_calls(chat, model):
        seen = openai_tokens(usage)
        assert seen.cached_tokens == EVERY_TOKEN_CACHE_READ
        calls.append(
            Tokens(
                input_tokens=seen.input_tokens,
                output_tokens=seen.output_tokens,
                cached_tokens=seen.cached_tokens,
                cache_write_5m_tokens=EVERY_TOKEN_CACHE_WRITE_5M,
                cache_write_1h_tokens=EVERY_TOKEN_CACHE_WRITE_1H,
            )
        )
    # through /v1/messages, passed through untouched: the client sees Anthropic's own counts
    with anthropic.Anthropic(
        base_url=gateway.base_url, api_key=tenant.key, max_retries=0
    ) as client:
        for prompt in (SHORT, LONG):
            messages: Any = [{"role": "user", "content": prompt}]
            plain = client.messages.create(model=model, max_tokens=1024, messages=messages)
            with client.messages.stream(model=model, max_tokens=1024, messages=messages) as stream:
                streamed = stream.get_final_message()
            for message in (plain, streamed):
                usage = message.usage
                assert usage.cache_creation is not None
                assert usage.cache_creation_input_tokens == written
                calls.append(
                    Tokens(
                        input_tokens=usage.input_tokens
                        + (usage.cache_read_input_tokens or 0)
                        + written,
                        output_tokens=usage.output_tokens,
                        cached_tokens=usage.cache_read_input_tokens or 0,
                        cache_write_5m_tokens=usage.cache_creation.ephemeral_5m_input_tokens,
                        cache_write_1h_tokens=usage.cache_creation.ephemeral_1h_input_tokens,
                    )
                )
    assert [call.input_tokens > 2900 for call in calls] == [False, False, True, True] * 2
    assert_recorded(gateway, tenant, model, calls)
