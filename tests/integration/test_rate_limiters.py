"""Both limit stores, Redis and in-memory, hold the same promises on their rate limits: no overrun
under concurrency (for Redis, between replicas), all or nothing across a key and its team, a fair
Retry-After, refunds up to capacity, and requests too large for a limit refused outright.
Admissions and finishes here name no budget."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from domains.billing.limit_store import LimitStore
from domains.billing.limits import RateLimit
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter
from infrastructure.billing.redis_limit_store import RedisLimitStore
from tests.support.clock import FakeClock
from tests.support.limit_store import acquire, refund
from tests.support.services import REDIS_URL


@dataclass
class Setup:
    store: LimitStore
    replica: LimitStore  # a second replica sharing the limits (the same one in memory)
    wait: Callable[[float], Awaitable[None]]  # lets time pass (a real sleep for Redis)
    redis: aioredis.Redis | None = None
    namespace: str = ""


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    if request.param == "memory":
        clock = FakeClock(5_000.0)
        store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))

        async def advance(seconds: float) -> None:
            clock.now += seconds

        yield Setup(store, store, advance)
        return
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    first, second = aioredis.from_url(REDIS_URL), aioredis.from_url(REDIS_URL)
    try:
        yield Setup(
            RedisLimitStore(first, namespace),
            RedisLimitStore(second, namespace),
            asyncio.sleep,
            first,
            namespace,
        )
    finally:
        keys = [key async for key in first.scan_iter(match=f"{namespace}:*")]
        if keys:
            await first.delete(*keys)
        await first.aclose()
        await second.aclose()


KEY = RateLimit("key", "k1", 5, None)


async def test_concurrent_acquires_never_overrun(setup: Setup) -> None:
    replicas = [setup.store, setup.replica]
    decisions = await asyncio.gather(*(acquire(replicas[i % 2], [KEY], 10) for i in range(50)))
    assert sum(decision.allowed for decision in decisions) == 5
    refused = [decision for decision in decisions if not decision.allowed]
    assert {(d.refused_by, d.measure, d.too_large) for d in refused} == {
        ("key:k1", "requests", False)
    }
    assert all(d.requests is not None and d.requests.remaining == 0 for d in refused)
    assert all(d.tokens is None for d in decisions)


async def test_the_retry_after_is_when_a_request_is_back(setup: Setup) -> None:
    for left in (4, 3, 2, 1, 0):
        decision = await acquire(setup.store, [KEY], 0)
        assert decision.allowed
        assert decision.requests is not None
        assert decision.requests.limit == 5
        assert decision.requests.remaining == left
    refused = await acquire(setup.replica, [KEY], 0)
    assert not refused.allowed
    assert refused.retry_after is not None
    assert 11 < refused.retry_after <= 12  # 5 a minute: one back every 12 s
    assert refused.requests is not None
    assert 59 < refused.requests.reset_seconds <= 60


async def test_a_token_limit_refills_continuously(setup: Setup) -> None:
    limit = RateLimit("key", "k1", None, 6000)  # 100 tokens a second
    first = await acquire(setup.store, [limit], 6000)
    assert first.allowed
    assert first.requests is None
    assert first.tokens is not None
    assert (first.tokens.limit, first.tokens.remaining) == (6000, 0)
    assert 59 < first.tokens.reset_seconds <= 60
    refused = await acquire(setup.replica, [limit], 30)
    assert (refused.allowed, refused.refused_by, refused.measure) == (False, "key:k1", "tokens")
    assert refused.retry_after is not None
    assert 0.2 < refused.retry_after <= 0.3
    await setup.wait(refused.retry_after + 0.05)
    assert (await acquire(setup.replica, [limit], 30)).allowed
    assert not (await acquire(setup.store, [limit], 30)).allowed


async def test_a_lowered_limit_refills_at_its_new_rate(setup: Setup) -> None:
    # the whole bucket of 600,000 a minute taken, then 60,000 a minute (1,000 tokens a second):
    # empty at the new capacity, 1,000 tokens back a second later, as any replica sees
    before, after = RateLimit("key", "k1", None, 600_000), RateLimit("key", "k1", None, 60_000)
    assert (await acquire(setup.store, [before], 600_000)).allowed
    refused = await acquire(setup.replica, [after], 1_000)
    assert not refused.allowed
    assert refused.retry_after is not None
    assert 0.9 < refused.retry_after <= 1.0
    assert refused.tokens is not None
    assert refused.tokens.remaining < 1_000  # empty, or a few ms of refill on Redis's clock
    assert 59 < refused.tokens.reset_seconds <= 60
    await setup.wait(refused.retry_after + 0.05)
    assert (await acquire(setup.replica, [after], 1_000)).allowed
    assert not (await acquire(setup.store, [after], 1_000)).allowed


async def test_a_refusal_by_the_team_takes_nothing_from_the_key(setup: Setup) -> None:
    key = RateLimit("key", "k1", 10, 1000)
    team = RateLimit("team", "t1", None, 300)
    allowed = await acquire(setup.store, [key, team], 200)
    assert allowed.allowed
    assert allowed.tokens is not None
    assert (allowed.tokens.limit, allowed.tokens.remaining) == (300, 100)  # the tighter one
    refused = await acquire(setup.replica, [key, team], 200)
    assert (refused.allowed, refused.refused_by, refused.measure) == (False, "team:t1", "tokens")
    assert refused.requests is not None
    assert refused.requests.remaining == 9
    # had the refusal taken its request and tokens from the key, these would not fit
    for _ in range(9):
        assert (await acquire(setup.store, [key], 0)).allowed
    assert (await acquire(setup.store, [RateLimit("key", "k1", None, 1000)], 800)).allowed


async def test_a_refund_gives_tokens_back_up_to_capacity(setup: Setup) -> None:
    limit = RateLimit("key", "k1", None, 100)
    assert (await acquire(setup.store, [limit], 80)).allowed
    assert not (await acquire(setup.store, [limit], 60)).allowed
    await refund(setup.replica, [limit], 50)  # the request used 30 of its 80
    again = await acquire(setup.store, [limit], 60)
    assert again.allowed
    assert again.tokens is not None
    assert again.tokens.remaining == 10
    await refund(setup.store, [limit], 10_000)  # never more than full
    full = await acquire(setup.store, [limit], 100)
    assert full.allowed
    assert not (await acquire(setup.store, [limit], 1)).allowed


async def test_a_request_too_large_for_the_limit_never_passes(setup: Setup) -> None:
    key = RateLimit("key", "k1", 10, 100)
    team = RateLimit("team", "t1", 1, None)
    assert (await acquire(setup.store, [team], 0)).allowed  # the team waits a minute now
    refused = await acquire(setup.store, [key, team], 101)
    assert (refused.allowed, refused.too_large, refused.retry_after) == (False, True, None)
    assert (refused.refused_by, refused.measure) == ("key:k1", "tokens")
    assert refused.tokens is not None
    assert refused.tokens.remaining == 100
    assert (await acquire(setup.store, [key], 100)).allowed


async def test_a_limit_of_zero_refuses_everything(setup: Setup) -> None:
    no_requests = RateLimit("team", "t1", 0, 1000)
    refused = await acquire(setup.store, [no_requests], 0)
    assert (refused.allowed, refused.measure, refused.retry_after) == (False, "requests", None)
    no_tokens = RateLimit("team", "t2", 100, 0)
    refused = await acquire(setup.store, [no_tokens], 0)
    assert (refused.allowed, refused.measure, refused.retry_after) == (False, "tokens", None)
    await refund(setup.store, [no_tokens], 5)
    assert not (await acquire(setup.store, [no_tokens], 0)).allowed


async def test_no_limit_allows_everything(setup: Setup) -> None:
    decision = await acquire(setup.store, [RateLimit("key", "k1", None, None)], 10**9)
    assert decision.allowed
    assert decision.requests is None
    assert decision.tokens is None
    await refund(setup.store, [], 10)


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_buckets_expire_once_full(setup: Setup) -> None:
    assert setup.redis is not None
    ns, client = setup.namespace, setup.redis
    limit = RateLimit("key", "k1", 5, 600)
    assert (await acquire(setup.store, [limit], 150)).allowed
    assert 11_000 < await client.pttl(f"{ns}:bucket:key:k1:requests") <= 12_000
    assert 14_000 < await client.pttl(f"{ns}:bucket:key:k1:tokens") <= 15_000
    await refund(setup.store, [limit], 150)
    assert await client.exists(f"{ns}:bucket:key:k1:tokens") == 0
    limit = RateLimit("key", "k2", 600_000, None)  # 10 a millisecond
    assert (await acquire(setup.store, [limit], 0)).allowed
    await asyncio.sleep(0.05)
    assert await client.exists(f"{ns}:bucket:key:k2:requests") == 0


@pytest.mark.redis
@pytest.mark.parametrize("setup", ["redis"], indirect=True)
async def test_redis_buckets_older_versions_left_are_not_read(setup: Setup) -> None:
    assert setup.redis is not None
    # older versions kept each bucket in a hash under `{ns}:rate:`, here an empty one
    await setup.redis.hset(f"{setup.namespace}:rate:key:k1:requests", mapping={"used": 300_000})
    decision = await acquire(setup.store, [RateLimit("key", "k1", 5, None)], 0)
    assert decision.allowed
    assert decision.requests is not None
    assert decision.requests.remaining == 4
