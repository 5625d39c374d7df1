"""Both limit stores, Redis and in-memory, hold the same promises: an admission takes from the rate
buckets and holds against the budgets all or nothing across both, concurrent admissions (for
Redis, from two replicas) never overrun either, a finish settles and refunds exactly once, and
windows never seeded take nothing. The Redis store's budget ledger (spend, seeding, the janitor)
reads the windows its script writes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domains.billing.budget import Amount, Budget, Refusal, Reservation, Unseeded
from domains.billing.limit_store import LimitStore, admitted
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision
from infrastructure.billing.memory_budget_ledger import InMemoryBudgetLedger
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter
from infrastructure.billing.redis_budget_ledger import RedisBudgetLedger
from infrastructure.billing.redis_budget_lua import BUDGET_LUA
from infrastructure.billing.redis_limit_store import RedisLimitStore
from infrastructure.billing.redis_pool import BoundedRedis, limit_client
from tests.support.clock import FakeClock
from tests.support.services import REDIS_URL

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
WINDOW = "team:t1:day:2026-11-23"


@dataclass
class Setup:
    store: LimitStore
    replica: LimitStore  # a second replica sharing the limits (the same store in memory)
    clock: FakeClock  # the budget ledger's clock: reservations expire by it
    redis: aioredis.Redis | None = None
    namespace: str = ""


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    clock = FakeClock(1_900_000_000.0)
    if request.param == "memory":
        # the buckets' clock stands still: nothing refills between the steps of a test
        limiter = InMemoryRateLimiter(clock=FakeClock(5_000.0))
        store = InMemoryLimitStore(InMemoryBudgetLedger(clock=clock), limiter)
        yield Setup(store, store, clock)
        return
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    # the gateway's own client on one replica, a plain redis-py one on the other
    first = limit_client(REDIS_URL, max_connections=8, timeout=5)
    second = aioredis.from_url(REDIS_URL)
    try:
        yield Setup(
            RedisLimitStore(first, namespace, clock=clock),
            RedisLimitStore(second, namespace, clock=clock),
            clock,
            first,
            namespace,
        )
    finally:
        keys = [key async for key in first.scan_iter(match=f"{namespace}:*")]
        if keys:
            await first.delete(*keys)
        await first.aclose()
        await second.aclose()


def team(dollars: int | None = None, tokens: int | None = None) -> Budget:
    return Budget("team", "t1", "day", None if dollars is None else dollars * USD, tokens)


def usd(dollars: int, tokens: int = 0) -> Amount:
    return Amount(dollars * USD, tokens)


async def requests_left(store: LimitStore, limit: RateLimit) -> int:
    """How many requests the bucket had left (taking one to read it)."""
    decision, _ = await store.admit([limit], 0, [], usd(0), now=NOW)
    assert decision is not None
    assert decision.requests is not None
    return decision.requests.remaining + decision.allowed


async def tokens_left(store: LimitStore, limit: RateLimit) -> int:
    """What a limit without an rpm has left in its token bucket (taking nothing)."""
    decision, _ = await store.admit([limit], 0, [], usd(0), now=NOW)
    assert decision is not None
    assert decision.tokens is not None
    return decision.tokens.remaining


async def test_a_budget_refusal_takes_nothing_from_the_rate_buckets(setup: Setup) -> None:
    store, rpm = setup.store, RateLimit("key", "k1", 10, None)
    decision, held = await store.admit([rpm], 0, [team(1)], usd(1), now=NOW)
    assert admitted(decision, held)
    assert isinstance(held, Reservation)
    assert held.keys == (WINDOW,)
    decision, refused = await setup.replica.admit([rpm], 0, [team(1)], usd(1), now=NOW)
    assert refused == Refusal(WINDOW, "usd", usd(0))
    assert decision is not None
    assert decision.allowed  # what the rate limits said; the budget kept it out
    assert not admitted(decision, refused)
    assert await requests_left(store, rpm) == 9
    assert await store.spent(team(1), now=NOW) == (usd(0), usd(1))


async def test_a_rate_refusal_holds_nothing_against_the_budgets(setup: Setup) -> None:
    store, rpm = setup.store, RateLimit("key", "k1", 1, None)
    budgets = [team(10), Budget("key", "k1", "total", None, 1_000)]
    decision, held = await store.admit([rpm], 100, budgets, usd(1, 100), now=NOW)
    assert admitted(decision, held)
    decision, outcome = await setup.replica.admit([rpm], 100, budgets, usd(1, 100), now=NOW)
    assert outcome is None
    assert decision is not None
    assert (decision.allowed, decision.refused_by, decision.measure) == (
        False,
        "key:k1",
        "requests",
    )
    for budget in budgets:
        assert (await store.spent(budget, now=NOW))[1] == usd(1, 100)


async def test_unseeded_windows_take_nothing(setup: Setup) -> None:
    store, tpm = setup.store, RateLimit("key", "k1", None, 100)
    key_total = Budget("key", "k1", "total", None, 1_000)
    await store.seed(key_total, usd(0), now=NOW)
    budgets = [team(5), key_total]
    decision, outcome = await store.admit(
        [tpm], 40, budgets, usd(1, 40), now=NOW, require_seed=True
    )
    assert outcome == Unseeded((WINDOW,))
    assert not admitted(decision, outcome)
    assert await tokens_left(store, tpm) == 100
    for budget in budgets:
        assert await store.spent(budget, now=NOW) == (usd(0), usd(0))
    if setup.redis is not None:
        assert await setup.redis.zcard(f"{setup.namespace}:reservations") == 0
    await store.seed(team(5), usd(2, 7), now=NOW)  # the database's spend
    decision, held = await setup.replica.admit(
        [tpm], 40, budgets, usd(1, 40), now=NOW, require_seed=True
    )
    assert admitted(decision, held)
    assert await tokens_left(store, tpm) == 60
    assert await store.spent(team(5), now=NOW) == (usd(2, 7), usd(1, 40))


@pytest.mark.parametrize(("rpm", "dollars", "expected"), [(5, 3, "budget"), (3, 5, "rate")])
async def test_concurrent_admissions_never_overrun_either(
    setup: Setup, rpm: int, dollars: int, expected: str
) -> None:
    rate, budget = RateLimit("key", "k1", rpm, None), team(dollars)
    stores = [setup.store, setup.replica]
    answers = await asyncio.gather(
        *(stores[i % 2].admit([rate], 0, [budget], usd(1), now=NOW) for i in range(50))
    )
    held = [outcome for decision, outcome in answers if admitted(decision, outcome)]
    assert len(held) == min(rpm, dollars) == 3
    assert all(isinstance(outcome, Reservation) for outcome in held)
    by_budget = [outcome for _, outcome in answers if isinstance(outcome, Refusal)]
    by_rate = [d for d, _ in answers if isinstance(d, RateDecision) and not d.allowed]
    assert (len(by_budget), len(by_rate)) == ((47, 0) if expected == "budget" else (0, 47))
    # whichever refused, the other took nothing for it
    assert await setup.store.spent(budget, now=NOW) == (usd(0), usd(3))
    assert await requests_left(setup.replica, rate) == rpm - 3


async def test_a_finish_settles_and_refunds_exactly_once(setup: Setup) -> None:
    tpm = RateLimit("team", "t1", None, 100)  # a token back every 0.6 s
    decision, held = await setup.store.admit([tpm], 60, [team(5)], usd(2, 60), now=NOW)
    assert admitted(decision, held)
    assert isinstance(held, Reservation)
    assert await tokens_left(setup.store, tpm) == 40
    finishes = [setup.store.finish, setup.replica.finish, setup.store.finish]
    afters = await asyncio.gather(*(finish([tpm], 35, held, usd(1, 25)) for finish in finishes))
    assert sorted(afters, key=len) == [[], [], [usd(1, 25)]]  # once, whoever came first
    assert await tokens_left(setup.replica, tpm) == 75
    assert await setup.store.spent(team(5), now=NOW) == (usd(1, 25), usd(0))


async def test_finishes_made_together_each_settle_and_refund(setup: Setup) -> None:
    tpm, budget = RateLimit("key", "k1", None, 100), team(100)
    held = []
    for _ in range(10):
        decision, reservation = await setup.store.admit([tpm], 10, [budget], usd(1, 10), now=NOW)
        assert admitted(decision, reservation)
        held.append(reservation)
    assert await tokens_left(setup.store, tpm) == 0
    stores = [setup.store, setup.replica]
    afters = await asyncio.gather(
        *(stores[i % 2].finish([tpm], 4, h, usd(1, 6)) for i, h in enumerate(held))
    )
    assert sorted(after[0].tokens for after in afters) == list(range(6, 61, 6))
    assert await tokens_left(setup.store, tpm) == 40
    assert await setup.store.spent(budget, now=NOW) == (usd(10, 60), usd(0))


async def counted_store(
    gate: asyncio.Event | None = None,
) -> tuple[RedisLimitStore, list[tuple[int, int]], BoundedRedis, str]:
    """A Redis store on the gateway's client, and the (settlements, admissions) of each script
    call; with a `gate`, calls that settle wait for it before they are sent."""
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    client = limit_client(REDIS_URL, max_connections=8, timeout=5)
    calls: list[tuple[int, int]] = []
    run = client.run_script

    async def counting(script: Any, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        settling = int(args[0])
        admitting = 0 if settling else int(args[1])  # a call does one or the other
        calls.append((settling, admitting))
        if settling and gate is not None:
            await gate.wait()
        return await run(script, keys, args)

    client.run_script = counting  # type: ignore[method-assign]
    return RedisLimitStore(client, namespace), calls, client, namespace


@pytest.mark.redis
async def test_admissions_never_wait_for_settlements_and_settlements_that_meet_go_together() -> (
    None
):
    gate = asyncio.Event()
    store, calls, client, namespace = await counted_store(gate)
    budget = team(tokens=100)
    try:
        held = []
        for _ in range(3):
            _, reservation = await store.admit([], 0, [budget], usd(0, 20), now=NOW)
            assert isinstance(reservation, Reservation)
            held.append(reservation)
        assert calls == [(0, 1)] * 3  # one admission a call: none was on its way
        settling = [asyncio.ensure_future(store.finish([], 0, held[0], usd(0, 5)))]
        await asyncio.sleep(0.05)
        assert calls[3:] == [(1, 0)]  # sent at once, alone, and held at the gate
        settling += [
            asyncio.ensure_future(store.finish([], 0, reservation, usd(0, 5)))
            for reservation in held[1:]
        ]
        # the settlement on its way holds up neither this admission nor its answer
        _, fourth = await asyncio.wait_for(store.admit([], 0, [budget], usd(0, 40), now=NOW), 2)
        assert isinstance(fourth, Reservation)
        assert not any(task.done() for task in settling)
        gate.set()
        assert await asyncio.gather(*settling) == [[usd(0, 5)], [usd(0, 10)], [usd(0, 15)]]
        assert calls[3:] == [(1, 0), (0, 1), (2, 0)]  # the two that met went together
        assert await store.spent(budget, now=NOW) == (usd(0, 15), usd(0, 40))
    finally:
        await client.delete(*[key async for key in client.scan_iter(match=f"{namespace}:*")])
        await client.aclose()


async def test_a_finish_without_a_reservation_refunds_and_an_expired_one_still_charges(
    setup: Setup,
) -> None:
    tpm = RateLimit("key", "k1", None, 100)
    decision, outcome = await setup.store.admit([tpm], 90, [], usd(1, 90), now=NOW)
    assert outcome is None
    assert admitted(decision, outcome)
    assert await setup.store.finish([tpm], 50, None, usd(0, 40)) == []
    assert await tokens_left(setup.store, tpm) == 60
    assert await setup.store.finish([], 0, None, usd(0)) == []  # nothing to do

    decision, held = await setup.store.admit([tpm], 10, [team(1)], usd(1, 10), now=NOW, ttl=30)
    assert isinstance(held, Reservation)
    setup.clock.now += 31
    assert await setup.replica.release_expired() == 1
    assert await setup.store.spent(team(1), now=NOW) == (usd(0), usd(0))
    # a settlement after the janitor freed it charges what was used and refunds the rest
    assert await setup.replica.finish([tpm], 6, held, usd(1, 4)) == [usd(1, 4)]
    assert await tokens_left(setup.store, tpm) == 56
    assert await setup.store.spent(team(1), now=NOW) == (usd(1, 4), usd(0))


async def test_no_limits_need_no_store(setup: Setup) -> None:
    assert await setup.store.admit([], 10, [], usd(1), now=NOW) == (None, None)
    unlimited = RateLimit("key", "k1", None, None)
    decision, outcome = await setup.store.admit([unlimited], 10, [], usd(1), now=NOW)
    assert outcome is None
    assert decision is not None
    assert (decision.allowed, decision.requests, decision.tokens) == (True, None, None)


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_the_budget_ledger_reads_what_the_store_wrote(setup: Setup) -> None:
    assert setup.redis is not None
    ledger = RedisBudgetLedger(setup.redis, setup.namespace, clock=setup.clock)
    rate = RateLimit("key", "k1", 10, 100)
    decision, held = await setup.store.admit([rate], 30, [team(5)], usd(2, 30), now=NOW)
    assert admitted(decision, held)
    assert isinstance(held, Reservation)
    assert await ledger.spent(team(5), now=NOW) == (usd(0), usd(2, 30))
    assert await setup.store.finish([rate], 20, held, usd(1, 10)) == [usd(1, 10)]
    assert await ledger.spent(team(5), now=NOW) == (usd(1, 10), usd(0))
    client, ns = setup.redis, setup.namespace
    assert await client.zcard(f"{ns}:reservations") == 0
    assert 0 < await client.ttl(f"{ns}:reservation:{held.id}") <= 86_400
    setup.clock.now += 10**6
    assert await ledger.release_expired() == 0  # settled: no longer the janitor's


EDGES = [0, 1, 9, 10**14 - 1, 10**14, 10**15 - 1, 10**15, 10**16 - 1, 2**53, 2**64, 10**28 - 1]
# ARGV: pairs of decimal strings; answers per pair their sum, max(difference, 0) and order, of
# the figures they read as (numbers below 10^15, strings above) and, chained, of those results.
_ARITHMETIC = """
local out = {}
for i = 1, #ARGV, 2 do
  local a, b = num(ARGV[i]), num(ARGV[i + 1])
  local sum, difference = add(a, b), sub(a, b)
  out[#out + 1] = str(sum)
  out[#out + 1] = str(difference)
  out[#out + 1] = tostring(cmp(a, b))
  out[#out + 1] = str(sub(sum, b))
  out[#out + 1] = str(add(difference, b))
  out[#out + 1] = tostring(cmp(sum, difference))
end
return out
"""


@pytest.mark.redis
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**30) | st.sampled_from(EDGES),
            st.integers(0, 10**30) | st.sampled_from(EDGES),
        ),
        min_size=1,
        max_size=50,
    )
)
@example([(10**20 - 1, 1), (10**20, 1), (10**28, 10**14 + 1), (10**16, 10**16 - 1)])
@settings(max_examples=40, deadline=None)
def test_redis_decimal_arithmetic_is_exact(pairs: list[tuple[int, int]]) -> None:
    async def run() -> list[bytes]:
        client = aioredis.from_url(REDIS_URL)
        try:
            script = client.register_script(BUDGET_LUA + _ARITHMETIC)
            return list(await script(keys=[], args=[str(n) for pair in pairs for n in pair]))
        finally:
            await client.aclose()

    answer = [int(part) for part in asyncio.run(run())]
    expected = [
        [a + b, max(a - b, 0), (a > b) - (a < b), a, max(a, b), int(b > 0)] for a, b in pairs
    ]
    assert answer == [figure for six in expected for figure in six]


async def test_an_admission_of_several_requests_takes_them_all_and_a_finish_gives_some_back(
    setup: Setup,
) -> None:
    """An allowance's admission takes its requests at once, and its settlement gives back
    those it did not use."""
    limit = RateLimit("key", "k1", 10, 1_000)
    decision, _ = await setup.store.admit([limit], 300, [], usd(0), now=NOW, requests=6)
    assert decision is not None
    assert decision.allowed
    assert decision.requests is not None
    assert decision.requests.remaining == 4
    refused, _ = await setup.replica.admit([limit], 0, [], usd(0), now=NOW, requests=5)
    assert refused is not None
    assert not refused.allowed
    assert await requests_left(setup.replica, limit) == 4  # and takes one
    await setup.store.finish([limit], 200, None, usd(0), refund_requests=3)
    assert await requests_left(setup.store, limit) == 6
    assert await tokens_left(setup.store, RateLimit("key", "k1", None, 1_000)) == 900
