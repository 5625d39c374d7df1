"""A burst of first requests under a budget whose window nobody has used yet: every one gets an
answer (200, or a budget refusal in the OpenAI error shape; never a 500, never a stall), the
window is seeded from the database once, and the seeding is exact (what the team spent before
its budget was set counts against it)."""

from __future__ import annotations

import asyncio
import secrets
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.both_shapes,
    pytest.mark.timeout(300),  # 200 requests at once, and a gateway's start, on a busy machine
]

MODEL = "gpt-4o"  # $2.50 in, $10 out per million tokens
PROMPT = "one two three four"
MAX_TOKENS = 1000  # a reservation of about $0.01 (1,000 tokens at $10/Mtok, and the prompt's)


def _set_team_budget(admin: httpx.Client, tenant: Tenant, **budget: Any) -> None:
    answer = admin.put(f"/teams/{tenant.team_id}/budget", json=budget)
    assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)


def _chat(n: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{PROMPT} {n}"}],
        "max_tokens": MAX_TOKENS,
    }


def _burst(gateway: GatewayProcess, tenant: Tenant, count: int) -> list[httpx.Response]:
    """`count` chat completions sent at once, each on a connection of its own."""

    async def one(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(
            "/v1/chat/completions",
            json=_chat(n),
            headers={"Authorization": f"Bearer {tenant.key}"},
        )

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=gateway.base_url, timeout=120, limits=limits
        ) as client:
            return await asyncio.gather(*(one(client, n) for n in range(count)))

    return asyncio.run(run())


def _total(admin: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    periods = admin.get(f"/teams/{tenant.team_id}/spend").json()["periods"]
    return next(row for row in periods if row["period"] == "total")


def _recorded(admin: httpx.Client, tenant: Tenant, calls: int) -> dict[str, Any] | None:
    """The team's total once `calls` calls are recorded and nothing is held any more."""
    params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 1000}
    rows = admin.get("/audit", params=params).json()["rows"]
    total = _total(admin, tenant)
    if len(rows) < calls or Decimal(total["reserved_usd"]) != 0:
        return None
    return total


def _assert_answered(answers: list[httpx.Response]) -> list[httpx.Response]:
    """Every answer is a 200 or a budget refusal in the OpenAI error shape; the 200s."""
    statuses = sorted({answer.status_code for answer in answers})
    assert set(statuses) <= {200, 429}, [
        (answer.status_code, answer.text[:300]) for answer in answers if answer.status_code != 200
    ]
    for answer in answers:
        if answer.status_code == 429:
            error = answer.json()["error"]
            assert error["code"] == "budget_exceeded", error
            assert error["type"] == "insufficient_quota", error
            assert error["message"].startswith("Budget exceeded"), error
        else:
            assert answer.json()["choices"][0]["message"]["content"].startswith("Echo: ")
    return [answer for answer in answers if answer.status_code == 200]


def _seedings(gateway: GatewayProcess, tenant: Tenant, period: str) -> int:
    """How often the gateway seeded the team's window of `period` from the database."""
    window = f'"window":"team:{tenant.team_id}:{period}'
    return sum(
        1 for line in gateway.logs().splitlines() if window in line and "budget.seeded" in line
    )


def _spend_first(gateway: GatewayProcess, admin: httpx.Client, tenant: Tenant) -> Decimal:
    """Three calls with no budget yet: the team's recorded spend once they are recorded."""
    with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
        for n in range(3):
            answer = client.post(
                "/v1/chat/completions",
                json=_chat(n),
                headers={"Authorization": f"Bearer {tenant.key}"},
            )
            assert answer.status_code == 200, answer.text
    spent = Decimal(eventually(lambda: _recorded(admin, tenant, 3), timeout=120)["spent_usd"])
    assert spent > 0
    return spent


@pytest.mark.parametrize("count", [50, 200])
def test_a_cold_burst_under_an_ample_budget_is_served_in_full(
    gateway: GatewayProcess, admin: httpx.Client, count: int
) -> None:
    tenant = create_tenant(admin, f"cold-{count}-{secrets.token_hex(3)}")
    _set_team_budget(admin, tenant, period="day", max_usd="1000")

    served = _assert_answered(_burst(gateway, tenant, count))

    assert len(served) == count
    total = eventually(lambda: _recorded(admin, tenant, count), timeout=120)
    billed = sum(
        Decimal(answer.json()["usage"]["prompt_tokens"]) * Decimal("2.5")
        + Decimal(answer.json()["usage"]["completion_tokens"]) * Decimal("10")
        for answer in served
    ) / Decimal(1_000_000)
    assert Decimal(total["spent_usd"]) == billed
    assert _seedings(gateway, tenant, "day") == 1


@pytest.mark.parametrize("count", [50, 200])
def test_a_cold_burst_under_a_tight_budget_is_served_or_refused_and_seeds_once(
    gateway: GatewayProcess, admin: httpx.Client, count: int
) -> None:
    """Room for a few requests at a time: every request goes to the ledger alone (no allowance
    fits), and the window is still read from the database once."""
    tenant = create_tenant(admin, f"cold-tight-{count}-{secrets.token_hex(3)}")
    spent_before = _spend_first(gateway, admin, tenant)
    cap = spent_before + Decimal("0.05")  # about four reservations of a little over $0.01
    _set_team_budget(admin, tenant, period="total", max_usd=str(cap))

    served = _assert_answered(_burst(gateway, tenant, count))

    assert served, "the budget admits some"
    total = eventually(lambda: _recorded(admin, tenant, 3 + len(served)), timeout=120)
    assert Decimal(total["spent_usd"]) <= cap
    assert _seedings(gateway, tenant, "total") == 1


def test_a_cold_burst_past_a_budget_spent_before_it_was_set_is_refused_whole(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    """The budget leaves less than one request's reservation over what the team spent before it
    was set: the window is seeded with that spend, so every request of the burst is refused."""
    tenant = create_tenant(admin, f"cold-spent-{secrets.token_hex(3)}")
    spent_before = _spend_first(gateway, admin, tenant)
    cap = spent_before + Decimal("0.005")  # half a reservation
    _set_team_budget(admin, tenant, period="total", max_usd=str(cap))

    answers = _burst(gateway, tenant, 50)

    assert _assert_answered(answers) == []
    assert _seedings(gateway, tenant, "total") == 1
    assert Decimal(_total(admin, tenant)["spent_usd"]) == spent_before
