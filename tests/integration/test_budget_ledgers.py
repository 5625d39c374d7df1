"""Both limit stores, Redis and in-memory, hold the same promises on their budget windows: all or
nothing across budgets, no overrun under concurrency, settlements once, windows by UTC day,
rebuilt spend. Admissions and finishes here name no rate limit."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from domains.billing.budget import (
    ZERO,
    Amount,
    Budget,
    Refusal,
    Reservation,
    Unseeded,
    merged_windows,
)
from domains.billing.limit_store import LimitStore
from infrastructure.billing.memory_budget_ledger import InMemoryBudgetLedger
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.redis_budget_lua import (
    BUDGET_LUA,
    finish_layout,
    read_finish,
    reserve_layout,
)
from infrastructure.billing.redis_limit_store import RedisLimitStore
from tests.support.clock import FakeClock
from tests.support.limit_store import reserve, settle
from tests.support.services import REDIS_URL

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
BIG = 10**20  # $100M: past 2**53 (Lua's doubles) and past 2**63 (Redis's HINCRBY)


@dataclass
class Setup:
    store: LimitStore
    clock: FakeClock
    flush: Callable[[], Awaitable[None]]  # lose every counter (a Redis flush, a restart)
    replica: Callable[[], Awaitable[LimitStore]] | None = None
    redis: aioredis.Redis | None = None
    namespace: str = ""


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    clock = FakeClock(1_900_000_000.0)
    if request.param == "memory":
        holder = Setup(InMemoryLimitStore(InMemoryBudgetLedger(clock=clock)), clock, _nothing)

        async def restart() -> None:
            holder.store = InMemoryLimitStore(InMemoryBudgetLedger(clock=clock))

        holder.flush = restart
        yield holder
        return
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    clients = [aioredis.from_url(REDIS_URL)]

    async def flush() -> None:
        keys = [key async for key in clients[0].scan_iter(match=f"{namespace}:*")]
        if keys:
            await clients[0].delete(*keys)

    async def replica() -> LimitStore:
        clients.append(aioredis.from_url(REDIS_URL))
        return RedisLimitStore(clients[-1], namespace, clock=clock)

    store = RedisLimitStore(clients[0], namespace, clock=clock)
    try:
        yield Setup(store, clock, flush, replica, clients[0], namespace)
    finally:
        await flush()
        for client in clients:
            await client.aclose()


async def _nothing() -> None:
    return None


def team(usd: float | None = None, tokens: int | None = None, period: str = "day") -> Budget:
    return Budget("team", "t1", period, None if usd is None else int(usd * USD), tokens)  # type: ignore[arg-type]


def key(usd: float | None = None, tokens: int | None = None, period: str = "total") -> Budget:
    return Budget("key", "k1", period, None if usd is None else int(usd * USD), tokens)  # type: ignore[arg-type]


def usd(dollars: float, tokens: int = 0) -> Amount:
    return Amount(int(dollars * USD), tokens)


async def test_a_reservation_is_all_or_nothing_across_budgets(setup: Setup) -> None:
    store, budgets = setup.store, [team(10), key(1)]
    refused = await reserve(store, budgets, usd(2), now=NOW)
    assert refused == Refusal("key:k1:total", "usd", usd(1))
    assert await store.spent(team(10), now=NOW) == (Amount(0, 0), Amount(0, 0))
    assert await store.spent(key(1), now=NOW) == (Amount(0, 0), Amount(0, 0))

    held = await reserve(store, budgets, usd(0.75, 100), now=NOW)
    assert isinstance(held, Reservation)
    assert held.keys == ("team:t1:day:2026-11-23", "key:k1:total")
    assert held.expires_at == setup.clock.now + 600
    for budget in budgets:
        assert await store.spent(budget, now=NOW) == (Amount(0, 0), usd(0.75, 100))
    # the first budget that cannot take it is named, with what it has left
    refused = await reserve(store, [team(0.5), key(1)], usd(0.5), now=NOW)
    assert refused == Refusal("team:t1:day:2026-11-23", "usd", Amount(0, 0))
    refused = await reserve(store, budgets, usd(0.5), now=NOW)
    assert refused == Refusal("key:k1:total", "usd", usd(0.25))


async def test_concurrent_reservations_never_overrun(setup: Setup) -> None:
    budgets = [team(5), key(None)]
    results = await asyncio.gather(
        *(reserve(setup.store, budgets, usd(1), now=NOW) for _ in range(40))
    )
    held = [r for r in results if isinstance(r, Reservation)]
    assert len(held) == 5
    assert await setup.store.spent(team(5), now=NOW) == (Amount(0, 0), usd(5))


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_two_replicas_racing_never_overrun(setup: Setup) -> None:
    assert setup.replica is not None
    replicas = [await setup.replica(), await setup.replica()]
    budgets = [team(5), key(100)]
    results = await asyncio.gather(
        *(reserve(replicas[i % 2], budgets, usd(1), now=NOW) for i in range(40))
    )
    assert sum(isinstance(r, Reservation) for r in results) == 5
    assert await replicas[0].spent(team(5), now=NOW) == (Amount(0, 0), usd(5))
    assert await replicas[1].spent(key(100), now=NOW) == (Amount(0, 0), usd(5))


async def test_settling_twice_changes_nothing(setup: Setup) -> None:
    store = setup.store
    held = await reserve(store, [team(5), key(5)], usd(2, 500), now=NOW)
    assert isinstance(held, Reservation)
    await settle(store, held, usd(0.3, 120))
    await settle(store, held, usd(0.3, 120))
    await settle(store, held, ZERO)
    for budget in (team(5), key(5)):
        assert await store.spent(budget, now=NOW) == (usd(0.3, 120), Amount(0, 0))


async def test_a_settlement_may_exceed_the_reservation(setup: Setup) -> None:
    held = await reserve(setup.store, [team(1)], usd(0.5), now=NOW)
    assert isinstance(held, Reservation)
    await settle(setup.store, held, usd(0.75))  # what was used is what is charged
    assert await setup.store.spent(team(1), now=NOW) == (usd(0.75), Amount(0, 0))
    assert isinstance(await reserve(setup.store, [team(1)], usd(0.25), now=NOW), Reservation)
    assert await reserve(setup.store, [team(1)], usd(0.01), now=NOW) == Refusal(
        "team:t1:day:2026-11-23", "usd", Amount(0, 0)
    )


async def test_a_release_returns_the_budget(setup: Setup) -> None:
    store = setup.store
    held = await reserve(store, [team(1)], usd(1), now=NOW)
    assert isinstance(held, Reservation)
    assert isinstance(await reserve(store, [team(1)], usd(0.01), now=NOW), Refusal)
    await settle(store, held, ZERO)
    assert await store.spent(team(1), now=NOW) == (Amount(0, 0), Amount(0, 0))
    assert isinstance(await reserve(store, [team(1)], usd(1), now=NOW), Reservation)


async def test_a_token_budget(setup: Setup) -> None:
    store, budgets = setup.store, [team(None, tokens=1000), key(100)]
    held = await reserve(store, budgets, usd(0.01, 600), now=NOW)
    assert isinstance(held, Reservation)
    assert await reserve(store, budgets, usd(0.01, 600), now=NOW) == Refusal(
        "team:t1:day:2026-11-23", "tokens", Amount(0, 400)
    )
    await settle(store, held, usd(0.01, 250))
    assert isinstance(await reserve(store, budgets, usd(0.01, 750), now=NOW), Reservation)
    assert await store.spent(team(None, tokens=1000), now=NOW) == (usd(0.01, 250), usd(0.01, 750))


async def test_a_day_window_rolls_over_at_utc_midnight(setup: Setup) -> None:
    store = setup.store
    before = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC)
    after = before + timedelta(seconds=1)
    late = await reserve(store, [team(1), key(10)], usd(1), now=before)
    assert isinstance(late, Reservation)
    assert isinstance(await reserve(store, [team(1)], usd(0.01), now=before), Refusal)
    fresh = await reserve(store, [team(1), key(10)], usd(1), now=after)
    assert isinstance(fresh, Reservation)
    assert fresh.keys[0] == "team:t1:day:2026-11-24"
    # a request reserved before midnight settles against the day it started in
    await settle(store, late, usd(0.5))
    assert await store.spent(team(1), now=before) == (usd(0.5), Amount(0, 0))
    assert await store.spent(team(1), now=after) == (Amount(0, 0), usd(1))
    assert await store.spent(key(10), now=after) == (usd(0.5), usd(1))


async def test_seed_rebuilds_lost_counters_and_never_overwrites(setup: Setup) -> None:
    held = await reserve(setup.store, [team(5), key(5)], usd(2), now=NOW)
    assert isinstance(held, Reservation)
    await settle(setup.store, held, usd(1.5))
    await setup.flush()
    store = setup.store
    assert await store.spent(team(5), now=NOW) == (Amount(0, 0), Amount(0, 0))
    assert await reserve(store, [team(5), key(5)], usd(1), now=NOW, require_seed=True) == (
        Unseeded(("team:t1:day:2026-11-23", "key:k1:total"))
    )

    await store.seed(team(5), usd(1.5, 10), now=NOW)  # the database's spend
    assert await store.spent(team(5), now=NOW) == (usd(1.5, 10), Amount(0, 0))
    await store.seed(team(5), usd(9), now=NOW)  # already seeded: ignored
    assert await store.spent(team(5), now=NOW) == (usd(1.5, 10), Amount(0, 0))
    assert await reserve(store, [team(5)], usd(4), now=NOW, require_seed=True) == Refusal(
        "team:t1:day:2026-11-23", "usd", usd(3.5)
    )
    # a settlement that lands before the seed is kept when it is the larger figure
    reserved = await reserve(store, [key(5)], usd(3), now=NOW)
    assert isinstance(reserved, Reservation)
    await settle(store, reserved, usd(2.5, 7))
    await store.seed(key(5), usd(1.5), now=NOW)
    assert await store.spent(key(5), now=NOW) == (usd(2.5, 7), Amount(0, 0))
    assert await reserve(store, [key(5)], usd(3), now=NOW, require_seed=True) == Refusal(
        "key:k1:total", "usd", usd(2.5)
    )


async def test_the_janitor_frees_reservations_past_their_ttl(setup: Setup) -> None:
    store, clock = setup.store, setup.clock
    abandoned = await reserve(store, [team(1), key(1)], usd(0.75), now=NOW, ttl=30)
    kept = await reserve(store, [team(1)], usd(0.25), now=NOW, ttl=300)
    assert isinstance(abandoned, Reservation)
    assert isinstance(kept, Reservation)
    clock.now += 29
    assert await store.release_expired() == 0
    clock.now += 1
    assert await store.release_expired() == 1
    assert await store.release_expired() == 0
    assert await store.spent(team(1), now=NOW) == (Amount(0, 0), usd(0.25))
    assert await store.spent(key(1), now=NOW) == (Amount(0, 0), Amount(0, 0))
    # a settlement after the release charges what was used, and frees nothing twice
    await settle(store, abandoned, usd(0.5))
    await settle(store, abandoned, usd(0.5))
    assert await store.spent(team(1), now=NOW) == (usd(0.5), usd(0.25))
    assert await store.spent(key(1), now=NOW) == (usd(0.5), Amount(0, 0))
    # a settled reservation is no longer the janitor's
    await settle(store, kept, usd(0.25))
    clock.now += 1000
    assert await store.release_expired() == 0
    assert await store.spent(team(1), now=NOW) == (usd(0.75), Amount(0, 0))


async def test_the_janitor_frees_many(setup: Setup) -> None:
    budgets = [team(None), key(1000)]
    for _ in range(250):
        assert isinstance(await reserve(setup.store, budgets, usd(1), now=NOW, ttl=1), Reservation)
    setup.clock.now += 2
    assert await setup.store.release_expired() == 250
    assert await setup.store.spent(key(1000), now=NOW) == (Amount(0, 0), Amount(0, 0))


async def test_amounts_beyond_64_bits_stay_exact(setup: Setup) -> None:
    big = Budget("org", "o1", "month", BIG, None)
    held = await reserve(setup.store, [big], Amount(BIG - 1, 0), now=NOW)
    assert isinstance(held, Reservation)
    assert await reserve(setup.store, [big], Amount(2, 0), now=NOW) == Refusal(
        "org:o1:month:2026-11", "usd", Amount(1, 0)
    )
    assert isinstance(await reserve(setup.store, [big], Amount(1, 0), now=NOW), Reservation)
    await settle(setup.store, held, Amount(BIG - 3, 2**70))
    assert await setup.store.spent(big, now=NOW) == (Amount(BIG - 3, 2**70), Amount(1, 0))


async def test_no_budget_holds_nothing(setup: Setup) -> None:
    assert await reserve(setup.store, [], usd(1), now=NOW) is None
    assert await setup.store.finish([], 0, None, usd(1)) == []


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_windows_expire_after_their_period_and_records_outlive_their_ttl(
    setup: Setup,
) -> None:
    assert setup.redis is not None
    client, ns = setup.redis, setup.namespace
    today = datetime.now(UTC)
    month = Budget("org", "o1", "month", None, None)
    held = await reserve(setup.store, [team(5), key(5), month], usd(1), now=today, ttl=60)
    assert isinstance(held, Reservation)
    # a window is kept its retention after its period ends: today's 3 days after midnight
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    day = f"{ns}:budget:{team().key(today)}"
    assert abs(await client.ttl(day) - (midnight - today).total_seconds() - 3 * 86_400) <= 5
    first_of_next = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC)
    expected = (first_of_next - today).total_seconds() + 40 * 86_400
    assert abs(await client.ttl(f"{ns}:budget:{month.key(today)}") - expected) <= 5
    assert await client.ttl(f"{ns}:budget:key:k1:total") == -1
    assert await client.ttl(f"{ns}:reservation:{held.id}") > 60
    # ... and one first written after its period (a late settlement) its retention from then
    past = today - timedelta(days=10)
    late = await reserve(setup.store, [team(5)], usd(1), now=past)
    assert isinstance(late, Reservation)
    assert 3 * 86_400 - 5 <= await client.ttl(f"{ns}:budget:{team().key(past)}") <= 3 * 86_400 + 1
    # later writes keep the expiry where it was
    before = await client.ttl(day)
    await settle(setup.store, held, usd(1))
    assert before - 2 <= await client.ttl(day) <= before
    assert 0 < await client.ttl(f"{ns}:reservation:{held.id}") <= 86_400
    assert await client.zcard(f"{ns}:reservations") == 1  # the late one is still held
    # a window the seed creates expires the same way
    await setup.flush()
    await setup.store.seed(team(5), usd(1), now=today)
    assert abs(await client.ttl(day) - (midnight - today).total_seconds() - 3 * 86_400) <= 5


# KEYS, ARGV: two finishes' (budget_finish), one after the other; KEYS[#KEYS]: how many keys the
# first has, ARGV[#ARGV]: how many arguments.
_TWO_FINISHES = """
local keys, args = tonumber(KEYS[#KEYS]), tonumber(ARGV[#ARGV])
local first = budget_finish(0, keys - 2, 0)
local second = budget_finish(keys, #KEYS - 1 - keys - 2, args)
budget_flush()
return {first, second}
"""
# KEYS, ARGV: a reservation's (budget_check, budget_hold); fails once it is held, before the flush.
_HOLD_THEN_FAIL = """
local n = #KEYS - 2
local refused, found = budget_check(0, n, 0)
assert(not refused)
budget_hold(0, n, 0, found)
error('cut off')
"""


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_a_reservation_settled_twice_in_one_call_is_charged_once(setup: Setup) -> None:
    assert setup.redis is not None
    store, ns = setup.store, setup.namespace
    held = await reserve(store, [team(5), key(5)], usd(2, 50), now=NOW)
    assert isinstance(held, Reservation)
    script = setup.redis.register_script(BUDGET_LUA + _TWO_FINISHES)
    keys, args = finish_layout(ns, held.id, held.keys, usd(1, 20), "settle", 0.0)
    answer = await script(keys=[*keys, *keys, len(keys)], args=[*args, *args, len(args)])
    assert [read_finish(part) for part in answer] == [(1, [usd(1, 20)] * 2), (2, [])]
    for budget in (team(5), key(5)):
        assert await store.spent(budget, now=NOW) == (usd(1, 20), Amount(0, 0))
    assert await settle(store, held, usd(1, 20)) == []


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_a_script_that_fails_on_its_way_writes_nothing(setup: Setup) -> None:
    assert setup.redis is not None
    ns, client = setup.namespace, setup.redis
    windows = merged_windows([team(5), key(5)], NOW)
    held = Reservation("r1", tuple(windows), usd(1), setup.clock.now + 600)
    keys, args = reserve_layout(ns, windows, held, 600, False)
    with pytest.raises(ResponseError, match="cut off"):
        await client.register_script(BUDGET_LUA + _HOLD_THEN_FAIL)(keys=keys, args=args)
    assert [key async for key in client.scan_iter(match=f"{ns}:*")] == []
