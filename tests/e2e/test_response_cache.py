"""The exact response cache through the running gateway, on both shapes (memory; Redis), with the
official SDKs: a repeated temperature-0 request is answered from the cache (the fake upstream
sees one call), plain and streamed, in Chat Completions, Responses and Anthropic Messages (a
streamed hit read by the SDKs' stream helpers); another org never gets the entry; a changed
tool, model or system prompt is a miss; `refresh` goes upstream and replaces the entry; the
request log says hit or miss, a hit costing nothing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    def config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        made = gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            anthropic_url=anthropic_upstream.base_url,
            gemini_url=gemini_upstream.base_url,
        )
        made["workers"] = {"analytics_every_seconds": 0.3, "analytics_settle_seconds": 0}
        return made

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-cache-{request.param}"),
        config,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


@pytest.fixture(scope="module")
def other(admin: httpx.Client) -> Tenant:
    return create_tenant(admin, f"cache-other-{secrets.token_hex(3)}")


def sdk(gateway: GatewayProcess, tenant: Tenant) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)


def claude(gateway: GatewayProcess, tenant: Tenant) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=tenant.key, max_retries=0)


ASKED = {"x-fluxrouter-cache": "on"}
"""(Messages has no temperature or seed: a Messages request is cached when asked, or when its
scope caches every request)"""


def nonce() -> str:
    return f"cache-{secrets.token_hex(6)}"


def seen(fake: FakeOpenAI | FakeAnthropic | FakeGemini, word: str) -> int:
    """How many requests the fake upstream got whose body says `word`."""
    return sum(1 for request in fake.requests if word in str(request.json))


def ask(word: str, system: str = "You answer briefly.") -> list[Any]:
    return [{"role": "system", "content": system}, {"role": "user", "content": f"say {word}"}]


def test_a_repeated_deterministic_chat_is_answered_from_the_cache(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    first = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ask(word), temperature=0, extra_headers={"x-request-id": word}
    )
    second = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=ask(word),
        temperature=0.0,
        extra_headers={"x-request-id": word + "-again"},
    )
    assert first.headers["x-fluxrouter-cache"] == "miss"
    assert second.headers["x-fluxrouter-cache"] == "hit"
    assert seen(upstream, word) == 1
    live, cached = first.parse(), second.parse()
    assert cached.choices[0].message.content == live.choices[0].message.content
    assert cached.usage == live.usage
    assert cached.id != live.id  # a fresh id for every answer
    miss, hit = records(admin, word), records(admin, word + "-again")
    assert (miss["cache"], hit["cache"]) == ("miss", "hit")
    assert hit["completion_tokens"] == miss["completion_tokens"]
    assert hit["cost_usd"] == "0"
    assert miss["cost_usd"] != "0"


def test_a_repeated_stream_is_replayed_as_a_stream(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    finals = []
    for _ in range(2):
        with client.chat.completions.stream(
            model="gpt-4o-mini",
            messages=ask(word),
            temperature=0,
            stream_options={"include_usage": True},
        ) as stream:
            finals.append(stream.get_final_completion())
    assert seen(upstream, word) == 1
    live, cached = finals
    assert cached.choices[0].message.content == live.choices[0].message.content
    assert cached.choices[0].finish_reason == "stop"
    assert cached.usage is not None
    assert cached.usage == live.usage
    # without its usage chunk, another entry: replayed without it
    bare = []
    for _ in range(2):
        with client.chat.completions.stream(
            model="gpt-4o-mini", messages=ask(word), temperature=0
        ) as stream:
            bare.append(stream.get_final_completion())
    assert [final.usage for final in bare] == [None, None]
    assert bare[1].choices[0].message.content == live.choices[0].message.content
    assert seen(upstream, word) == 2
    # the plain answer is another entry: it goes upstream once of its own
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=ask(word), temperature=0)
    assert plain.choices[0].message.content == live.choices[0].message.content
    assert seen(upstream, word) == 3


def test_responses_plain_and_streamed_hits(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    answers = [
        client.responses.create(model="gpt-4o-mini", input=f"say {word}", temperature=0)
        for _ in range(2)
    ]
    assert answers[0].output_text == answers[1].output_text
    assert answers[0].id != answers[1].id
    finals = []
    for _ in range(2):
        with client.responses.stream(
            model="gpt-4o-mini", input=f"say {word}", temperature=0
        ) as stream:
            finals.append(stream.get_final_response())
    assert finals[0].output_text == finals[1].output_text == answers[0].output_text
    assert seen(upstream, word) == 2  # one plain, one streamed


def test_anthropic_messages_plain_and_streamed_hits(
    gateway: GatewayProcess, tenant: Tenant, anthropic_upstream: FakeAnthropic
) -> None:
    word = nonce()
    client = claude(gateway, tenant)
    messages: list[Any] = [{"role": "user", "content": f"say {word}"}]
    plain = [
        client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=64, messages=messages, extra_headers=ASKED
        )
        for _ in range(2)
    ]
    assert [answer.headers["x-fluxrouter-cache"] for answer in plain] == ["miss", "hit"]
    first, again = (answer.parse() for answer in plain)
    assert first.content == again.content
    assert first.usage == again.usage
    assert first.id != again.id
    finals = []
    for _ in range(2):
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=messages, extra_headers=ASKED
        ) as stream:
            finals.append(stream.get_final_message())
    texts = [[block.model_dump()["text"] for block in final.content] for final in finals]
    assert texts[0] == texts[1] == [block.model_dump()["text"] for block in first.content]
    assert finals[1].stop_reason == "end_turn"
    assert seen(anthropic_upstream, word) == 2


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gpt-4o-mini"])
def test_gemini_plain_and_streamed_hits(
    gateway: GatewayProcess,
    tenant: Tenant,
    upstream: FakeOpenAI,
    gemini_upstream: FakeGemini,
    model: str,
) -> None:
    """Natively to Gemini, and translated to an OpenAI model and back."""
    word = nonce()
    body = {
        "contents": [{"role": "user", "parts": [{"text": f"say {word}"}]}],
        "generationConfig": {"temperature": 0},
    }
    url = f"{gateway.base_url}/v1beta/models/{model}"
    headers = {"x-goog-api-key": tenant.key}
    plain = [
        httpx.post(f"{url}:generateContent", json=body, headers=headers, timeout=30)
        for _ in range(2)
    ]
    assert [answer.headers["x-fluxrouter-cache"] for answer in plain] == ["miss", "hit"]
    assert plain[0].json()["candidates"] == plain[1].json()["candidates"]
    streamed = [
        httpx.post(
            f"{url}:streamGenerateContent",
            params={"alt": "sse"},
            json=body,
            headers=headers,
            timeout=30,
        )
        for _ in range(2)
    ]
    assert [answer.headers["x-fluxrouter-cache"] for answer in streamed] == ["miss", "hit"]
    texts = [
        [
            json.loads(event[6:])["candidates"][0]["content"]["parts"][0]["text"]
            for event in answer.content.replace(b"\r\n", b"\n").split(b"\n\n")
            if event.startswith(b"data: {")
        ]
        for answer in streamed
    ]
    assert texts[0] == texts[1]
    assert "".join(texts[1]).endswith(word)
    fake = gemini_upstream if model.startswith("gemini") else upstream
    assert seen(fake, word) == 2


def test_legacy_completions_hit(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    answers = [
        client.completions.with_raw_response.create(
            model="gpt-3.5-turbo-instruct", prompt=f"say {word}", temperature=0, max_tokens=8
        )
        for _ in range(2)
    ]
    assert [answer.headers["x-fluxrouter-cache"] for answer in answers] == ["miss", "hit"]
    first, again = (answer.parse() for answer in answers)
    assert first.choices[0].text == again.choices[0].text
    assert seen(upstream, word) == 1


async def test_a_websocket_chat_hit(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    word = nonce()
    done = []
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        for generation in ("a", "b"):
            await socket.send(chat_start(generation, f"say {word}", temperature=0))
            done.append(await socket.until_end_of(generation))
    assert [end["type"] for end in done] == ["chat.done", "chat.done"]
    assert done[0]["usage"] == done[1]["usage"]
    assert seen(upstream, word) == 1
    hit = records(admin, done[1]["request_id"])
    assert (hit["cache"], hit["dialect"]) == ("hit", "ws")


def test_analytics_count_the_hits_and_the_money_saved(
    gateway: GatewayProcess, admin: httpx.Client, upstream: FakeOpenAI
) -> None:
    fresh = create_tenant(admin, f"cache-analytics-{secrets.token_hex(3)}")
    word = nonce()
    for _ in range(3):
        sdk(gateway, fresh).chat.completions.create(
            model="gpt-4o", messages=ask(word), temperature=0
        )
    assert seen(upstream, word) == 1

    row = analytics_row(
        admin, fresh.org_id, "requests,cost_usd,cache_hits,cache_hit_rate,cache_saved_usd", 3
    )
    assert row["cache_hits"] == 2
    assert Decimal(row["cache_saved_usd"]) == 2 * Decimal(row["cost_usd"])  # two hits, one cost
    assert Decimal(row["cost_usd"]) > 0


def test_another_org_never_gets_the_entry(
    gateway: GatewayProcess, tenant: Tenant, other: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    for who in (tenant, other, tenant, other):
        sdk(gateway, who).chat.completions.create(
            model="gpt-4o-mini", messages=ask(word), temperature=0
        )
    assert seen(upstream, word) == 2


def test_a_changed_tool_model_or_system_prompt_is_a_miss(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    tool: Any = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    other: Any = {**tool, "function": {**tool["function"], "name": "find"}}
    variants: list[dict[str, Any]] = [
        {"model": "gpt-4o-mini", "messages": ask(word)},
        {"model": "gpt-4o", "messages": ask(word)},
        {"model": "gpt-4o-mini", "messages": ask(word, "You answer at length.")},
        {"model": "gpt-4o-mini", "messages": ask(word), "tools": [tool], "tool_choice": "none"},
        {
            "model": "gpt-4o-mini",
            "messages": ask(word),
            "tools": [other],
            "tool_choice": "none",
        },
    ]
    for variant in variants:
        answer = client.chat.completions.with_raw_response.create(temperature=0, **variant)
        assert answer.headers["x-fluxrouter-cache"] == "miss", variant
    assert seen(upstream, word) == len(variants)
    for variant in variants:  # each its own entry now
        answer = client.chat.completions.with_raw_response.create(temperature=0, **variant)
        assert answer.headers["x-fluxrouter-cache"] == "hit", variant
    assert seen(upstream, word) == len(variants)


def test_refresh_goes_upstream_and_replaces_the_entry(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)

    def create(**headers: str) -> str:
        answer = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ask(word), temperature=0, extra_headers=headers
        )
        return answer.headers["x-fluxrouter-cache"]

    assert create() == "miss"
    assert create(**{"x-fluxrouter-cache": "refresh"}) == "refresh"
    assert seen(upstream, word) == 2
    assert create() == "hit"
    assert create(**{"x-fluxrouter-cache": "off"}) == "off"
    assert seen(upstream, word) == 3


def test_undeterministic_requests_are_cached_only_when_asked(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    word = nonce()
    client = sdk(gateway, tenant)
    said = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ask(word), temperature=0.7
        ).headers["x-fluxrouter-cache"]
        for _ in range(2)
    ]
    assert said == ["off", "off"]
    assert seen(upstream, word) == 2
    asked = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ask(word), temperature=0.7, extra_body={"cache": "on"}
        ).headers["x-fluxrouter-cache"]
        for _ in range(2)
    ]
    assert asked == ["miss", "hit"]
    assert seen(upstream, word) == 3
    sent = [request.json for request in upstream.requests if word in str(request.json)]
    assert all("cache" not in body for body in sent)  # the option never goes upstream
    seeded = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ask(word), seed=7
        ).headers["x-fluxrouter-cache"]
        for _ in range(2)
    ]
    assert seeded == ["miss", "hit"]


def test_a_bad_directive_is_a_clear_error(gateway: GatewayProcess, tenant: Tenant) -> None:
    client = sdk(gateway, tenant)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=ask("x"),
            temperature=0,
            extra_headers={"x-fluxrouter-cache": "sometimes"},
        )
    assert "x-fluxrouter-cache" in str(raised.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=ask("x"), temperature=0, extra_body={"cache": 3}
        )
    with pytest.raises(anthropic.BadRequestError):
        claude(gateway, tenant).messages.create(
            model="claude-haiku-4-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-fluxrouter-cache": "maybe"},
        )


def records(admin: httpx.Client, rid: str) -> dict[str, Any]:
    def written() -> dict[str, Any] | None:
        answer = admin.get(f"/requests/{rid}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["attempts"]
        return found[0] if found else None

    found: dict[str, Any] = eventually(written)
    return found


def analytics_row(admin: httpx.Client, org_id: str, metrics: str, requests: int) -> dict[str, Any]:
    """The org's one analytics row of `metrics`, once it counts `requests` requests."""

    def answer() -> dict[str, Any] | None:
        found = admin.get("/analytics", params={"org_id": org_id, "metrics": metrics})
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body if body["rows"] and body["rows"][0]["requests"] == requests else None

    (row,) = eventually(answer, timeout=30)["rows"]
    found: dict[str, Any] = row
    return found
