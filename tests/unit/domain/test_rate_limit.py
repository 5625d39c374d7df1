"""Rate limits as token buckets: the refill arithmetic, the decision, and the in-memory store's
buckets against an exact model: never more than capacity + elapsed × rate, all or nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.billing.limits import RateLimit
from domains.billing.rate_limit import (
    MAX_CAPACITY,
    PARTS,
    Bucket,
    RateWindow,
    buckets,
    decide,
    drained,
    full_in_ms,
    rate_window,
    refund_buckets,
    refunded,
    wait_ms,
)
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter
from tests.support.clock import FakeClock
from tests.support.limit_store import acquire, refund


def tokens_bucket(capacity: int, cost: int) -> Bucket:
    return Bucket("key:k1:tokens", "key:k1", "tokens", capacity, cost)


# --- arithmetic -----------------------------------------------------------------------------


def test_buckets_are_the_limited_measures_in_order() -> None:
    limits = [RateLimit("key", "k1", 5, None), RateLimit("team", "t1", 60, 1000)]
    assert buckets(limits, 40) == [
        Bucket("key:k1:requests", "key:k1", "requests", 5, 1),
        Bucket("team:t1:requests", "team:t1", "requests", 60, 1),
        Bucket("team:t1:tokens", "team:t1", "tokens", 1000, 40),
    ]
    twice = [RateLimit("key", "k1", 50, 9), RateLimit("key", "k1", 5, None)]
    assert [(b.key, b.capacity) for b in buckets(twice, 1)] == [
        ("key:k1:requests", 5),
        ("key:k1:tokens", 9),
    ]
    assert buckets([RateLimit("key", "k1", None, 10**18)], 0)[0].capacity == MAX_CAPACITY
    with pytest.raises(ValueError, match="negative"):
        buckets([], -1)


def test_a_bucket_refills_its_capacity_a_minute() -> None:
    # rpm 60 lacking 3 requests: one back a second, full after 3 s, and never over full
    used = 3 * PARTS
    assert drained(used, 1_000, 1_000, 60) == (used, 1_000)
    assert drained(used, 1_000, 2_000, 60) == (2 * PARTS, 2_000)
    assert drained(used, 1_000, 1_500, 60) == (2 * PARTS + PARTS // 2, 1_500)
    assert drained(used, 1_000, 4_000, 60) == (0, 4_000)
    assert drained(used, 1_000, 10**13, 60) == (0, 10**13)
    # a clock that goes back refills nothing and keeps the later date
    assert drained(used, 5_000, 4_000, 60) == (used, 5_000)
    # a capacity lowered since: it lacks no more than the new capacity
    assert drained(100 * PARTS, 0, 0, 5) == (5 * PARTS, 0)
    assert full_in_ms(3 * PARTS, 60) == 3_000
    assert full_in_ms(1, 60) == 1
    assert full_in_ms(0, 60) == 0


def test_the_wait_is_until_the_bucket_holds_the_cost() -> None:
    bucket = tokens_bucket(600, 100)  # 10 tokens a second
    assert wait_ms(bucket, 0) == 0
    assert wait_ms(bucket, 500 * PARTS) == 0
    assert wait_ms(bucket, 510 * PARTS) == 1_000
    assert wait_ms(bucket, 500 * PARTS + 1) == 1  # a part short still waits a millisecond
    assert wait_ms(tokens_bucket(600, 601), 0) is None
    assert wait_ms(tokens_bucket(0, 0), 0) is None


def test_windows_show_what_is_left_and_when_full() -> None:
    assert rate_window(tokens_bucket(600, 1), 150 * PARTS + 1) == RateWindow(600, 449, 15.001)
    assert rate_window(tokens_bucket(600, 1), 0) == RateWindow(600, 600, 0.0)
    assert rate_window(tokens_bucket(0, 1), 0) == RateWindow(0, 0, 0.0)


def test_a_refund_never_fills_past_capacity() -> None:
    assert refunded(80 * PARTS, tokens_bucket(100, 30)) == 50 * PARTS
    assert refunded(80 * PARTS, tokens_bucket(100, 1000)) == 0


def test_a_refund_gives_each_measure_its_own_and_skips_what_gets_nothing() -> None:
    limits = [RateLimit("key", "k1", 60, 1000), RateLimit("team", "t1", None, 500)]
    given = [(b.key, b.cost) for b in refund_buckets(limits, 40, 3)]
    assert given == [("key:k1:requests", 3), ("key:k1:tokens", 40), ("team:t1:tokens", 40)]
    assert [b.key for b in refund_buckets(limits, 40)] == ["key:k1:tokens", "team:t1:tokens"]
    assert refund_buckets(limits, 0) == []
    with pytest.raises(ValueError, match="negative"):
        refund_buckets(limits, -1)


def test_an_acquire_of_several_requests_takes_them_all_from_the_request_buckets() -> None:
    chosen = buckets([RateLimit("key", "k1", 60, 1000)], 400, requests=8)
    assert [(b.key, b.cost) for b in chosen] == [("key:k1:requests", 8), ("key:k1:tokens", 400)]
    with pytest.raises(ValueError, match="negative"):
        buckets([], 0, requests=-1)


def test_the_decision_names_the_bucket_that_keeps_the_request_out_longest() -> None:
    chosen = buckets([RateLimit("key", "k1", 60, 1000), RateLimit("team", "t1", 6, 100)], 50)
    allowed = decide(chosen, [0, 0, 0, 0])
    assert allowed.allowed
    assert allowed.requests == RateWindow(6, 5, 10.0)  # the team's: least left after
    assert allowed.tokens == RateWindow(100, 50, 30.0)
    # the key lacks a request for 0.5 s, the team 20 tokens for 12 s: the team is named
    refused = decide(chosen, [60 * PARTS + PARTS // 2, 0, 0, 70 * PARTS])
    assert (refused.allowed, refused.refused_by, refused.measure) == (False, "team:t1", "tokens")
    assert refused.retry_after == 12.0
    assert not refused.too_large
    assert refused.tokens == RateWindow(100, 30, 42.0)  # as it is: nothing was taken
    assert refused.requests == RateWindow(60, 0, 60.5)
    # a request that can never pass is named before any wait
    too_large = decide(buckets([RateLimit("key", "k1", 1, 10)], 11), [PARTS, 0])
    assert (too_large.refused_by, too_large.measure, too_large.too_large) == (
        "key:k1",
        "tokens",
        True,
    )
    assert too_large.retry_after is None
    nothing = decide(buckets([RateLimit("team", "t1", 0, None)], 0), [0])
    assert (nothing.allowed, nothing.measure, nothing.retry_after) == (False, "requests", None)
    assert not nothing.too_large
    unlimited = decide([], [])
    assert unlimited.allowed
    assert unlimited.requests is None
    assert unlimited.tokens is None


# --- the limiter against an exact model --------------------------------------------------------


@dataclass
class ModelBucket:
    capacity: int
    level: Fraction = field(init=False)  # what it holds, in units
    at: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        self.level = Fraction(self.capacity)

    def at_time(self, now: Fraction) -> Fraction:
        return min(Fraction(self.capacity), self.level + (now - self.at) * self.capacity / 60)


@dataclass(frozen=True)
class Step:
    after_ms: int
    tokens: int
    limits: tuple[int, ...]  # indices of the limits the request falls under
    refund: int


steps = st.lists(
    st.builds(
        Step,
        after_ms=st.one_of(st.just(0), st.integers(0, 3_000), st.integers(0, 120_000)),
        tokens=st.integers(0, 400),
        limits=st.sampled_from([(0,), (1,), (0, 1)]),
        refund=st.one_of(st.just(0), st.integers(0, 300)),
    ),
    min_size=1,
    max_size=60,
)
capacities = st.one_of(st.none(), st.integers(0, 12), st.integers(0, 600))


@given(
    steps=steps,
    rpm=st.tuples(capacities, capacities),
    tpm=st.tuples(capacities, capacities),
)
async def test_the_limiter_is_the_exact_token_bucket(
    steps: list[Step], rpm: tuple[int | None, int | None], tpm: tuple[int | None, int | None]
) -> None:
    clock = FakeClock()
    store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))
    limits = [RateLimit("key", "k1", rpm[0], tpm[0]), RateLimit("team", "t1", rpm[1], tpm[1])]
    model = {
        (i, measure): ModelBucket(capacity)
        for i, limit in enumerate(limits)
        for measure, capacity in (("requests", limit.rpm), ("tokens", limit.tpm))
        if capacity is not None
    }
    taken = {key: Fraction(0) for key in model}  # taken less given back
    start, now = Fraction(clock.now), Fraction(clock.now)
    for step in steps:
        clock.now += step.after_ms / 1000
        now += Fraction(step.after_ms, 1000)
        applying = [limits[i] for i in step.limits]
        decision = await acquire(store, applying, step.tokens)

        mine = {key: b for key, b in model.items() if key[0] in step.limits}
        costs = {key: 1 if key[1] == "requests" else step.tokens for key in mine}
        levels = {key: b.at_time(now) for key, b in mine.items()}
        fits = all(b.capacity > 0 and levels[key] >= costs[key] for key, b in mine.items())
        assert decision.allowed == fits
        if fits:
            for key, bucket in mine.items():
                bucket.level, bucket.at = levels[key] - costs[key], now
                taken[key] += costs[key]
        else:  # nothing taken anywhere; the longest wait is the one reported
            waits = [
                math.inf
                if b.capacity == 0 or costs[key] > b.capacity
                else max(costs[key] - levels[key], Fraction(0)) * 60 / b.capacity
                for key, b in mine.items()
            ]
            worst = max(waits)
            if worst == math.inf:
                assert decision.retry_after is None
            else:
                assert decision.retry_after is not None
                assert 0 <= decision.retry_after - worst < Fraction(1, 1000)
        for measure in ("requests", "tokens"):
            shown = decision.requests if measure == "requests" else decision.tokens
            left = [math.floor(b.at_time(now)) for key, b in mine.items() if key[1] == measure]
            assert (shown is None) == (not left)
            if shown is not None:
                assert shown.remaining == min(left)

        if step.refund:
            await refund(store, applying, step.refund)
            for key, bucket in mine.items():
                if key[1] == "tokens":
                    before = bucket.at_time(now)
                    bucket.level = min(before + step.refund, Fraction(bucket.capacity))
                    bucket.at = now
                    taken[key] -= bucket.level - before

    elapsed = now - start
    for key, bucket in model.items():
        # never more than a full bucket plus the refill since (requests are never given back)
        assert taken[key] <= bucket.capacity + elapsed * bucket.capacity / 60


async def test_all_or_nothing_a_team_refusal_takes_nothing_from_the_key() -> None:
    clock = FakeClock()
    store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))
    key, team = RateLimit("key", "k1", 10, 1000), RateLimit("team", "t1", None, 300)
    assert (await acquire(store, [key, team], 200)).allowed
    refused = await acquire(store, [key, team], 200)
    assert (refused.allowed, refused.refused_by, refused.measure) == (False, "team:t1", "tokens")
    assert refused.requests == RateWindow(10, 9, 6.0)
    assert (await acquire(store, [key], 800)).allowed


async def test_forgotten_buckets_are_full_ones() -> None:
    clock = FakeClock()
    store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))
    for i in range(3000):
        assert (await acquire(store, [RateLimit("key", f"k{i}", 1, None)], 0)).allowed
        clock.now += 0.03  # 90 s in all: the first buckets have been full for a while
    assert len(store.limiter._state) < 3000
    assert not (await acquire(store, [RateLimit("key", "k2999", 1, None)], 0)).allowed
    assert (await acquire(store, [RateLimit("key", "k0", 1, None)], 0)).allowed
