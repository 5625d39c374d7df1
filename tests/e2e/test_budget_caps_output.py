"""A budget is a cap even when the client names no `max_tokens`: the output a request reserved
is the most the upstream is asked for, in each dialect's own field, and a stream that goes on
regardless is cut at its reservation and billed no more; so concurrent requests never end above
the budget. The fake `fake-runaway` ignores every limit and streams 20,000 words."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import RUNAWAY_PIECE_WORDS, RUNAWAY_PIECES, FakeOpenAI
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.both_shapes,
    pytest.mark.timeout(300),  # 50 streams at once, and a gateway's start, on a busy machine
]

RUNAWAY = "fake-runaway"  # priced $1 in, $100 out per million tokens
DEFAULT_OUTPUT = 4096  # `billing.default_max_output_tokens`
BUDGET_USD = Decimal("10")  # room for 24 reservations of ~$0.41 (4,096 tokens at $100/Mtok)
STREAMS = 50


def _team_budget(admin: httpx.Client, name: str, **budget: Any) -> Tenant:
    tenant = create_tenant(admin, f"{name}-{secrets.token_hex(3)}")
    answer = admin.put(f"/teams/{tenant.team_id}/budget", json={"period": "total", **budget})
    assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    return tenant


def _seed_window(gateway: GatewayProcess, tenant: Tenant) -> None:
    """One small call first, so the burst finds the budget's window already seeded."""
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1,
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


def _team_total(admin: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    periods = admin.get(f"/teams/{tenant.team_id}/spend").json()["periods"]
    return next(row for row in periods if row["period"] == "total")


def _settled(admin: httpx.Client, tenant: Tenant, calls: int) -> dict[str, Any] | None:
    """The team's total once every admitted call is recorded and no reservation is held."""
    params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 1000}
    rows = admin.get("/audit", params=params).json()["rows"]
    total = _team_total(admin, tenant)
    if len(rows) < calls or Decimal(total["reserved_usd"]) != 0:
        return None
    return total


def _events(body: str) -> list[str]:
    return [line[6:] for line in body.split("\n") if line.startswith("data: ")]


async def _stream(client: httpx.AsyncClient, tenant: Tenant, n: int) -> tuple[int, list[str]]:
    body = {
        "model": RUNAWAY,
        "messages": [{"role": "user", "content": f"write forever {n}"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = await client.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {tenant.key}"}
    )
    return answer.status_code, _events(answer.text) if answer.status_code == 200 else []


def test_fifty_concurrent_streams_without_max_tokens_never_pass_the_team_budget(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _team_budget(admin, "cap-sse", max_usd=str(BUDGET_USD))
    _seed_window(gateway, tenant)

    async def run() -> list[tuple[int, list[str]]]:
        limits = httpx.Limits(max_connections=STREAMS)
        async with httpx.AsyncClient(
            base_url=gateway.base_url, timeout=60, limits=limits
        ) as client:
            return await asyncio.gather(*(_stream(client, tenant, n) for n in range(STREAMS)))

    answers = asyncio.run(run())
    assert {status for status, _ in answers} <= {200, 429}
    served = [events for status, events in answers if status == 200]
    assert served, "the budget admits some"
    billed = 0
    for events in served:
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        assert finishes[-1] == "length"  # cut at its reservation, told so
        usage = chunks[-1]["usage"]
        assert 0 < usage["completion_tokens"] <= DEFAULT_OUTPUT
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
        assert len(text.split()) < RUNAWAY_PIECES * RUNAWAY_PIECE_WORDS  # not all of it
        billed += usage["completion_tokens"]

    total = eventually(lambda: _settled(admin, tenant, len(served) + 1), timeout=30)
    assert Decimal(total["spent_usd"]) <= BUDGET_USD
    assert total["spent_tokens"] >= billed


def test_fifty_concurrent_websocket_generations_never_pass_the_team_budget(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _team_budget(admin, "cap-ws", max_usd=str(BUDGET_USD))
    _seed_window(gateway, tenant)
    sockets, per_socket = 10, STREAMS // 10  # 5 generations at once on each of 10 connections

    async def one_socket(index: int) -> list[dict[str, Any]]:
        async with chat_socket(gateway.base_url, tenant.key) as socket:
            ids = [f"g{index}-{n}" for n in range(per_socket)]
            for generation in ids:
                await socket.send(
                    chat_start(generation, f"write forever {generation}", model=RUNAWAY)
                )
            return [await socket.until_end_of(generation, timeout=60) for generation in ids]

    async def run() -> list[list[dict[str, Any]]]:
        return await asyncio.gather(*(one_socket(index) for index in range(sockets)))

    ends = [end for ended in asyncio.run(run()) for end in ended]
    assert len(ends) == STREAMS
    done = [end for end in ends if end["type"] == "chat.done"]
    refused = [end for end in ends if end["type"] == "error"]
    assert done, "the budget admits some"
    assert len(done) + len(refused) == STREAMS
    assert {end["error"]["code"] for end in refused} <= {"budget_exceeded"}
    for end in done:
        assert end["finish_reason"] == "length"
        assert 0 < end["usage"]["completion_tokens"] <= DEFAULT_OUTPUT

    total = eventually(lambda: _settled(admin, tenant, len(done) + 1), timeout=30)
    assert Decimal(total["spent_usd"]) <= BUDGET_USD


def test_a_plain_answer_past_its_reservation_is_billed_no_more_than_it_reserved(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _team_budget(admin, "cap-plain", max_usd="1")
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": RUNAWAY, "messages": [{"role": "user", "content": "write forever"}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["completion_tokens"] == RUNAWAY_PIECES * RUNAWAY_PIECE_WORDS
    total = eventually(lambda: _settled(admin, tenant, 1), timeout=30)
    assert Decimal(total["spent_usd"]) <= Decimal("1")
    assert total["spent_tokens"] <= DEFAULT_OUTPUT + 100  # the reservation, prompt included


def _sent(requests: list[Any], marker: str) -> dict[str, Any]:
    found = [r.json for r in requests if isinstance(r.json, dict) and marker in json.dumps(r.json)]
    assert len(found) == 1, f"{len(found)} upstream requests carry {marker}"
    body: dict[str, Any] = found[0]
    return body


def test_the_upstream_is_asked_for_no_more_than_was_reserved_in_each_dialects_field(
    gateway: GatewayProcess,
    admin: httpx.Client,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
) -> None:
    tenant = _team_budget(admin, "cap-fields", max_tokens=10_000_000)
    free = create_tenant(admin, f"cap-free-{secrets.token_hex(3)}")  # no limit: nothing reserved
    marker = secrets.token_hex(4)

    def chat(key: str, model: str, label: str, **extra: Any) -> None:
        body = {"model": model, "messages": [{"role": "user", "content": f"{label} {marker}"}]}
        answer = httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={**body, **extra},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text

    chat(tenant.key, "gpt-4o-mini", "openai")
    chat(tenant.key, "gpt-4o-mini", "openai-stream", stream=True)
    chat(tenant.key, "gpt-4o-mini", "openai-two", n=2)
    chat(tenant.key, "llama3.1", "compatible")
    chat(tenant.key, "gemini-2.5-flash", "gemini")
    chat(tenant.key, "claude-haiku-4-5", "anthropic")  # its model limit: 1,024
    chat(tenant.key, "gpt-4o-mini", "asked", max_tokens=7)
    chat(free.key, "gpt-4o-mini", "unlimited")
    native = httpx.post(
        f"{gateway.base_url}/v1/messages",
        headers={"x-api-key": tenant.key, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 5000,  # more than the model's 1,024, which is what was reserved
            "messages": [{"role": "user", "content": f"native {marker}"}],
            "stream": True,
        },
        timeout=30,
    )
    assert native.status_code == 200, native.text

    async def over_websocket() -> dict[str, Any]:
        async with chat_socket(gateway.base_url, tenant.key) as socket:
            await socket.send(chat_start("w", f"websocket {marker}"))
            return await socket.until_end_of("w")

    assert asyncio.run(over_websocket())["type"] == "chat.done"

    openai_sent = upstream.requests
    for label in ("openai", "openai-stream", "websocket"):
        sent = _sent(openai_sent, f"{label} {marker}")
        assert sent["max_completion_tokens"] == DEFAULT_OUTPUT, label
        assert "max_tokens" not in sent, label
    assert _sent(openai_sent, f"openai-two {marker}")["max_completion_tokens"] == DEFAULT_OUTPUT
    compatible = _sent(openai_sent, f"compatible {marker}")
    assert compatible["max_tokens"] == DEFAULT_OUTPUT
    assert "max_completion_tokens" not in compatible
    asked = _sent(openai_sent, f"asked {marker}")
    assert asked["max_tokens"] == 7
    assert "max_completion_tokens" not in asked
    unlimited = _sent(openai_sent, f"unlimited {marker}")
    assert "max_tokens" not in unlimited
    assert "max_completion_tokens" not in unlimited

    gemini = _sent(gemini_upstream.requests, f"gemini {marker}")
    assert gemini["generationConfig"]["maxOutputTokens"] == DEFAULT_OUTPUT
    anthropic_sent = anthropic_upstream.requests
    assert _sent(anthropic_sent, f"anthropic {marker}")["max_tokens"] == 1024
    assert _sent(anthropic_sent, f"native {marker}")["max_tokens"] == 1024


def test_a_huge_max_tokens_under_a_usd_budget_is_a_400_in_each_surfaces_shape(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _team_budget(admin, "cap-huge", max_usd="10")
    huge = 10**23
    hello = [{"role": "user", "content": "hi"}]
    chat = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "gpt-4o-mini", "messages": hello, "max_tokens": huge},
        timeout=30,
    )
    assert chat.status_code == 400, chat.text
    assert chat.json()["error"]["param"] == "max_tokens"
    assert chat.json()["error"]["type"] == "invalid_request_error"

    messages = httpx.post(
        f"{gateway.base_url}/v1/messages",
        headers={"x-api-key": tenant.key, "anthropic-version": "2023-06-01"},
        json={"model": "claude-haiku-4-5", "messages": hello, "max_tokens": huge},
        timeout=30,
    )
    assert messages.status_code == 400, messages.text
    assert messages.json()["type"] == "error"
    assert messages.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in messages.json()["error"]["message"]

    async def over_websocket() -> dict[str, Any]:
        async with chat_socket(gateway.base_url, tenant.key) as socket:
            await socket.send(chat_start("h", "hi", max_completion_tokens=huge))
            return await socket.until_end_of("h")

    refused = asyncio.run(over_websocket())
    assert refused["type"] == "error", refused
    assert refused["status"] == 400
    assert refused["error"]["param"] == "max_completion_tokens"
