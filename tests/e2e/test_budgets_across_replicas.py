"""Budgets and rate limits hold across two replicas sharing PostgreSQL and Redis: many
concurrent requests, streamed and not, never overrun a budget, and what is recorded is exactly
what the passed requests cost. A Redis flush does not reset anyone's spend, and a client that
goes away mid-stream is charged for what was produced while its reservation is freed."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
import redis

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.services import REDIS_URL
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PRICE_IN, PRICE_OUT = Decimal("0.15"), Decimal("0.60")  # gpt-4o-mini in the test config
WORDS = " ".join(f"w{i}" for i in range(30))  # the fake echoes it: 30 words in, 31 out
MAX_TOKENS = 31
CONCURRENT = 40


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str | None
    cost: Decimal
    tokens: int


def _chat(base_url: str, key: str, *, stream: bool) -> Outcome:
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": WORDS}],
        "max_tokens": MAX_TOKENS,
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
        response = client.post("/v1/chat/completions", json=body)
    if response.status_code != 200:
        return Outcome(response.status_code, response.json()["error"]["code"], Decimal(0), 0)
    if stream:
        frames = [line[6:] for line in response.text.splitlines() if line.startswith("data: {")]
        usage = msgspec.json.decode(frames[-1])["usage"]
    else:
        usage = response.json()["usage"]
    cost = (usage["prompt_tokens"] * PRICE_IN + usage["completion_tokens"] * PRICE_OUT) / 10**6
    return Outcome(200, None, cost, usage["total_tokens"])


def _storm(replicas: list[GatewayProcess], key: str) -> list[Outcome]:
    """CONCURRENT requests at once, alternating replicas, every other one streamed."""
    with ThreadPoolExecutor(CONCURRENT) as pool:
        futures = [
            pool.submit(_chat, replicas[i % 2].base_url, key, stream=(i // 2) % 2 == 0)
            for i in range(CONCURRENT)
        ]
        return [future.result() for future in futures]


@pytest.fixture
def replicas(gateway: GatewayProcess, replica: GatewayProcess) -> list[GatewayProcess]:
    return [gateway, replica]


def _one_request(gateway: GatewayProcess, admin: httpx.Client) -> Outcome:
    """What one request costs, measured on a key without limits."""
    probe = create_tenant(admin, f"probe-{time.monotonic_ns()}")
    outcome = _chat(gateway.base_url, probe.key, stream=False)
    assert outcome.status == 200
    return outcome


def _spend(admin: httpx.Client, scope: str, scope_id: str, period: str) -> dict[str, Any]:
    answer = admin.get(f"/{scope}/{scope_id}/spend")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["periods"]
    return next(row for row in rows if row["period"] == period)


def _recorded_equals(admin: httpx.Client, tenant: Tenant, cost: Decimal) -> bool:
    row = _spend(admin, "teams", tenant.team_id, "month")
    return Decimal(row["spent_usd"]) == cost and Decimal(row["reserved_usd"]) == 0


def test_a_usd_budget_worth_five_requests_lets_four_to_six_through(
    gateway: GatewayProcess, replicas: list[GatewayProcess], admin: httpx.Client
) -> None:
    one = _one_request(gateway, admin)
    tenant = create_tenant(admin, "usd-budget")
    budget = admin.put(
        f"/teams/{tenant.team_id}/budget", json={"period": "month", "max_usd": str(5 * one.cost)}
    )
    assert budget.status_code == 200, budget.text
    time.sleep(LIMITS_RELOAD)

    outcomes = _storm(replicas, tenant.key)
    passed = [o for o in outcomes if o.status == 200]
    refused = [o for o in outcomes if o.status != 200]
    assert 4 <= len(passed) <= 6, [o.status for o in outcomes]
    assert {(o.status, o.code) for o in refused} == {(429, "budget_exceeded")}
    spent = sum((o.cost for o in passed), Decimal(0))
    assert spent <= 5 * one.cost
    eventually(lambda: _recorded_equals(admin, tenant, spent))


def test_limits_large_enough_for_allowances_charge_exactly_and_hold_nothing_once_idle(
    gateway: GatewayProcess, replicas: list[GatewayProcess], admin: httpx.Client
) -> None:
    """With limits large enough, each replica admits most requests from an allowance it took
    from Redis: the spend recorded is still exactly what the requests cost, once the replicas
    are idle nothing stays reserved, and Redis counted that spend: a budget lowered to three
    requests more than it lets two to four more through."""
    one = _one_request(gateway, admin)
    tenant = create_tenant(admin, "allowances")
    budget = admin.put(
        f"/teams/{tenant.team_id}/budget",
        json={"period": "month", "max_usd": str(100_000 * one.cost)},
    )
    assert budget.status_code == 200, budget.text
    limits = admin.put(f"/keys/{tenant.key_id}/limits", json={"rpm": 100_000})
    assert limits.status_code == 200, limits.text
    time.sleep(LIMITS_RELOAD)

    outcomes = [outcome for _ in range(3) for outcome in _storm(replicas, tenant.key)]
    assert {o.status for o in outcomes} == {200}
    spent = sum((o.cost for o in outcomes), Decimal(0))
    eventually(lambda: _recorded_equals(admin, tenant, spent))

    lowered = admin.put(
        f"/teams/{tenant.team_id}/budget",
        json={"period": "month", "max_usd": str(spent + 3 * one.cost)},
    )
    assert lowered.status_code == 200, lowered.text
    time.sleep(LIMITS_RELOAD)
    passed = [o for o in _storm(replicas, tenant.key) if o.status == 200]
    assert 2 <= len(passed) <= 4


def test_a_token_budget_holds_the_same_way(
    gateway: GatewayProcess, replicas: list[GatewayProcess], admin: httpx.Client
) -> None:
    one = _one_request(gateway, admin)
    tenant = create_tenant(admin, "token-budget")
    budget = admin.put(
        f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 5 * one.tokens}
    )
    assert budget.status_code == 200, budget.text
    time.sleep(LIMITS_RELOAD)

    passed = [o for o in _storm(replicas, tenant.key) if o.status == 200]
    assert 4 <= len(passed) <= 6
    used = sum(o.tokens for o in passed)
    assert used <= 5 * one.tokens
    eventually(lambda: _spend(admin, "keys", tenant.key_id, "day")["spent_tokens"] == used)


def test_an_rpm_limit_is_shared_by_the_replicas(
    replicas: list[GatewayProcess], admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "rpm-limit")
    assert admin.put(f"/keys/{tenant.key_id}/limits", json={"rpm": 5}).status_code == 200
    time.sleep(LIMITS_RELOAD)

    outcomes = _storm(replicas, tenant.key)
    assert sum(o.status == 200 for o in outcomes) == 5
    assert {o.code for o in outcomes if o.status != 200} == {"rate_limit_exceeded"}
    refused = httpx.post(
        f"{replicas[1].base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit-requests"] == "5"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_a_redis_flush_does_not_reset_spend(
    gateway: GatewayProcess, replicas: list[GatewayProcess], admin: httpx.Client
) -> None:
    one = _one_request(gateway, admin)
    tenant = create_tenant(admin, "flushed")
    budget = admin.put(
        f"/teams/{tenant.team_id}/budget", json={"period": "month", "max_usd": str(5 * one.cost)}
    )
    assert budget.status_code == 200
    time.sleep(LIMITS_RELOAD)
    first = [_chat(gateway.base_url, tenant.key, stream=False) for _ in range(3)]
    assert [o.status for o in first] == [200, 200, 200]
    spent = sum((o.cost for o in first), Decimal(0))
    eventually(lambda: _recorded_equals(admin, tenant, spent))

    namespace = gateway.env["FLUXROUTER_REDIS_NAMESPACE"]
    flushed = redis.Redis.from_url(REDIS_URL)
    keys = list(flushed.scan_iter(match=f"{namespace}:budget:*"))
    assert keys, "the budget windows live in Redis"
    flushed.delete(*keys)

    later = [_chat(replicas[i % 2].base_url, tenant.key, stream=False) for i in range(4)]
    assert 1 <= sum(o.status == 200 for o in later) <= 2  # not 4: the 3 before still count
    total = spent + sum((o.cost for o in later), Decimal(0))
    assert total <= 5 * one.cost
    eventually(lambda: _recorded_equals(admin, tenant, total))


async def _cut_stream(base_url: str, key: str) -> int:
    """Reads the first content chunk of a stream that then stalls, and hangs up."""
    body = {
        "model": "fake-stall-stream",
        "messages": [{"role": "user", "content": WORDS}],
        "max_tokens": 200,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                return len(line)
    raise AssertionError("the stream ended before its first chunk")


def test_a_client_that_hangs_up_mid_stream_is_charged_and_frees_its_reservation(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "hang-up")
    budget = admin.put(
        f"/keys/{tenant.key_id}/limits", json={"period": "total", "max_tokens": 100_000}
    )
    assert budget.status_code == 200
    time.sleep(LIMITS_RELOAD)

    asyncio.run(_cut_stream(gateway.base_url, tenant.key))

    def settled() -> dict[str, Any] | None:
        row = _spend(admin, "keys", tenant.key_id, "total")
        return row if row["reserved_tokens"] == 0 and row["spent_tokens"] > 0 else None

    row = eventually(settled)
    # the prompt and the words produced before the hang-up; nothing held any longer
    assert 30 < row["spent_tokens"] < 200
    assert row["remaining_tokens"] == 100_000 - row["spent_tokens"]
