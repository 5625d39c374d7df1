"""The rate-limit figures on the WebSocket chat protocol, against the running gateway
(PostgreSQL, Redis): `chat.done`, `chat.cancelled` and a refusal's `error` carry in `rate_limits`
the `x-ratelimit-*` headers /v1/chat/completions sends, from the same buckets; a key no rate limit
applies to gets none."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SLOW = "fake-slow-stream"  # one word every 20 ms
HELLO = [{"role": "user", "content": "one two three four"}]


def _limited(admin: httpx.Client, name: str, limits: dict[str, Any]) -> Tenant:
    tenant = create_tenant(admin, f"{name}-{secrets.token_hex(3)}", models=["gpt-4o-mini", SLOW])
    answer = admin.put(f"/keys/{tenant.key_id}/limits", json=limits)
    assert answer.status_code == 200, answer.text
    return tenant


async def _http_chat(gateway: GatewayProcess, key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as client:
        return await client.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": 5},
        )


def _ratelimit_headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith("x-ratelimit-")}


async def test_chat_done_carries_the_figures_http_sends_as_headers_from_the_same_buckets(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    # 3 requests a minute: a request comes back every 20 s, long after this test is over
    tenant = _limited(admin, "ws-rates", {"rpm": 3, "tpm": 100_000})
    time.sleep(LIMITS_RELOAD)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("first", "hi", max_tokens=5))
        first = await socket.until_end_of("first")
        await socket.send(chat_start("second", "hi", max_tokens=5))
        second = await socket.until_end_of("second")
        over_http = await _http_chat(gateway, tenant.key)

    assert (first["type"], second["type"]) == ("chat.done", "chat.done")
    assert over_http.status_code == 200, over_http.text
    http = _ratelimit_headers(over_http)
    for done in (first, second):
        assert (
            set(done["rate_limits"])
            == set(http)
            == {
                f"x-ratelimit-{what}-{measure}"
                for what in ("limit", "remaining", "reset")
                for measure in ("requests", "tokens")
            }
        )
        assert done["rate_limits"]["x-ratelimit-limit-requests"] == "3"
        assert done["rate_limits"]["x-ratelimit-limit-tokens"] == "100000"
        assert done["rate_limits"]["x-ratelimit-reset-requests"].endswith("s")
        assert all(isinstance(value, str) for value in done["rate_limits"].values())
    assert http["x-ratelimit-limit-requests"] == "3"
    assert http["x-ratelimit-limit-tokens"] == "100000"
    remaining = [
        int(figures["x-ratelimit-remaining-requests"])
        for figures in (first["rate_limits"], second["rate_limits"], http)
    ]
    assert remaining == [2, 1, 0]  # one bucket, one request taken by each
    for figures in (first["rate_limits"], second["rate_limits"], http):
        assert 0 < int(figures["x-ratelimit-remaining-tokens"]) < 100_000  # refills in ms


async def test_chat_cancelled_carries_the_figures_of_its_admission(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _limited(admin, "ws-rates-cancel", {"rpm": 10})
    time.sleep(LIMITS_RELOAD)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("a", "cancel me", model=SLOW, max_tokens=200))
        await socket.until(lambda m: m.get("id") == "a" and m["type"] == "chat.delta")
        await socket.send({"type": "chat.cancel", "id": "a"})
        cancelled = await socket.until_end_of("a")

    assert cancelled["type"] == "chat.cancelled"
    limits = cancelled["rate_limits"]
    assert set(limits) == {
        f"x-ratelimit-{what}-requests" for what in ("limit", "remaining", "reset")
    }
    assert limits["x-ratelimit-limit-requests"] == "10"
    assert limits["x-ratelimit-remaining-requests"] == "9"
    assert limits["x-ratelimit-reset-requests"].endswith("s")


async def test_an_rpm_refusal_is_a_429_error_with_the_figures_and_the_connection_stays(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = _limited(admin, "ws-rates-refused", {"rpm": 1})
    time.sleep(LIMITS_RELOAD)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("allowed", "hi", max_tokens=5))
        allowed = await socket.until_end_of("allowed")
        await socket.send(chat_start("refused", "hi", max_tokens=5))
        refused = await socket.until_end_of("refused")
        await socket.ping()
        over_http = await _http_chat(gateway, tenant.key)

    assert allowed["type"] == "chat.done"
    assert allowed["rate_limits"]["x-ratelimit-remaining-requests"] == "0"
    assert refused["type"] == "error"
    assert refused["status"] == 429
    assert refused["error"]["code"] == "rate_limit_exceeded"
    assert refused["error"]["type"] == "requests"
    assert refused["retry_after"] > 0
    limits = refused["rate_limits"]
    assert limits["x-ratelimit-limit-requests"] == "1"
    assert limits["x-ratelimit-remaining-requests"] == "0"
    assert all(key.startswith("x-ratelimit-") for key in limits)  # Retry-After is retry_after
    # the same refusal over HTTP, with the same figures as headers
    assert over_http.status_code == 429
    assert over_http.json()["error"]["code"] == "rate_limit_exceeded"
    http = _ratelimit_headers(over_http)
    assert set(http) == set(limits)
    assert http["x-ratelimit-limit-requests"] == "1"
    assert http["x-ratelimit-remaining-requests"] == "0"


async def test_a_key_without_rate_limits_gets_no_rate_limits(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    free = create_tenant(admin, f"ws-no-rates-{secrets.token_hex(3)}")
    budgeted = _limited(admin, "ws-budget-only", {"period": "day", "max_tokens": 50})
    time.sleep(LIMITS_RELOAD)
    async with chat_socket(gateway.base_url, free.key) as socket:
        ends: dict[str, dict[str, Any]] = {}
        for generation_id, params in (("free", {}), ("unknown", {"model": "no-such-model"})):
            await socket.send(chat_start(generation_id, "hi", max_tokens=5, **params))
            ends[generation_id] = await socket.until_end_of(generation_id)
    async with chat_socket(gateway.base_url, budgeted.key) as socket:
        await socket.send(chat_start("fits", "hi", max_tokens=5))
        ends["fits"] = await socket.until_end_of("fits")
        await socket.send(chat_start("spent", "hi", max_tokens=500))
        ends["spent"] = await socket.until_end_of("spent")

    assert (ends["free"]["type"], ends["fits"]["type"]) == ("chat.done", "chat.done")
    assert ends["unknown"]["status"] == 404
    assert ends["spent"]["error"]["code"] == "budget_exceeded"
    assert ends["spent"]["retry_after"] > 0  # a budget has a Retry-After, but no x-ratelimit-*
    assert all("rate_limits" not in end for end in ends.values())
