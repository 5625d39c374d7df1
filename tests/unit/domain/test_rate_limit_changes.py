"""A rate limit changed while its buckets hold what the old one allowed: a lowered limit refills
at its new rate (a request is refused no longer than the new capacity's refill time for it), and
no capacity, raised or lowered, ever admits more than a full bucket plus its refill since."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domains.billing.limits import RateLimit
from domains.billing.rate_limit import PARTS, drained
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter
from tests.support.clock import FakeClock
from tests.support.limit_store import acquire


def test_a_bucket_emptied_under_a_larger_capacity_refills_at_the_new_rate() -> None:
    # 100 requests taken at rpm 100, then rpm 10: empty at the new capacity, one back every 6 s
    used = 100 * PARTS
    assert drained(used, 0, 0, 10) == (10 * PARTS, 0)
    assert drained(used, 0, 6_000, 10) == (9 * PARTS, 6_000)
    assert drained(used, 0, 60_000, 10) == (0, 60_000)
    assert drained(used, 0, 10**12, 10) == (0, 10**12)


async def test_a_lowered_limit_admits_again_after_its_refill_time() -> None:
    clock = FakeClock(7_000.0)
    store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))
    before, after = RateLimit("key", "k1", 100, 60_000), RateLimit("key", "k1", 10, 6_000)
    for _ in range(100):
        assert (await acquire(store, [before], 600)).allowed
    refused = await acquire(store, [after], 100)
    assert not refused.allowed
    assert refused.retry_after == 6.0  # one request at rpm 10
    clock.ms += 5_999
    assert not (await acquire(store, [after], 100)).allowed
    clock.ms += 1
    assert (await acquire(store, [after], 100)).allowed
    clock.ms += 60_000
    for _ in range(10):  # a minute later the new bucket is full: its capacity at once, no more
        assert (await acquire(store, [after], 600)).allowed
    assert not (await acquire(store, [after], 0)).allowed


@dataclass(frozen=True)
class Change:
    rpm: int | None
    tpm: int | None


@dataclass(frozen=True)
class Wait:
    ms: int


@dataclass(frozen=True)
class Take:
    tokens: int


capacities = st.one_of(st.none(), st.integers(0, 12), st.integers(0, 600), st.integers(0, 50_000))
actions = st.lists(
    st.one_of(
        st.builds(Change, rpm=capacities, tpm=capacities),
        st.builds(Wait, ms=st.one_of(st.integers(0, 3_000), st.integers(0, 120_000))),
        st.builds(Take, tokens=st.one_of(st.integers(0, 50), st.integers(0, 50_000))),
    ),
    min_size=1,
    max_size=80,
)


@dataclass
class Segment:
    """One measure's limit since it was last set: its capacity, from when, what was taken."""

    capacity: int | None
    since: int
    taken: int = 0


@given(first=st.builds(Change, rpm=capacities, tpm=capacities), actions=actions)
async def test_changed_capacities_refill_at_their_rate_and_never_overrun(
    first: Change, actions: list[Change | Wait | Take]
) -> None:
    clock = FakeClock(7_000.0)
    store = InMemoryLimitStore(limiter=InMemoryRateLimiter(clock=clock))
    limit = RateLimit("key", "k1", first.rpm, first.tpm)
    segments = {
        "requests": Segment(first.rpm, clock.ms),
        "tokens": Segment(first.tpm, clock.ms),
    }
    last_taken = clock.ms  # the last admitted request
    for action in actions:
        if isinstance(action, Wait):
            clock.ms += action.ms
            continue
        if isinstance(action, Change):
            limit = RateLimit("key", "k1", action.rpm, action.tpm)
            segments = {
                "requests": Segment(action.rpm, clock.ms),
                "tokens": Segment(action.tpm, clock.ms),
            }
            continue
        costs = {"requests": 1, "tokens": action.tokens}
        decision = await acquire(store, [limit], action.tokens)
        limited = {m: s for m, s in segments.items() if s.capacity is not None}
        possible = all(s.capacity and costs[m] <= s.capacity for m, s in limited.items())
        if decision.allowed:
            last_taken = clock.ms
            for measure, segment in limited.items():
                assert segment.capacity
                segment.taken += costs[measure]
                # never more than the bucket full when the limit was set, plus its refill since
                refill = Fraction(segment.capacity * (clock.ms - segment.since), 60_000)
                assert segment.taken <= segment.capacity + refill
            continue
        if not possible:
            assert decision.retry_after is None
            continue
        # refused: each bucket needs at most its cost's refill time at its present capacity,
        # counted from the limit's change or the last request taken, whichever came later
        needs = {
            m: math.ceil(Fraction(costs[m] * 60_000, s.capacity or 1)) for m, s in limited.items()
        }
        assert decision.retry_after is not None
        assert decision.retry_after <= max(needs.values()) / 1000
        quiet = {m: clock.ms - max(s.since, last_taken) for m, s in limited.items()}
        assert any(quiet[m] < needs[m] for m in limited), (needs, quiet)
        # and the wait it tells is the truth: the request fits once it is over
        clock.ms += math.ceil(decision.retry_after * 1000)
        assert store.limiter.check([limit], action.tokens).decision.allowed
        clock.ms -= math.ceil(decision.retry_after * 1000)
