"""Admission from allowances, with the in-process limit store standing for the shared one: one
call of the store a slice of requests, nothing admitted that the limits did not grant, every
settled request charged exactly, what an allowance did not use given back, and limits too small
for a slice admitted one request at a time; a busy caller's allowances grow, a quiet one's
shrink back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.billing.admission import FREE, BudgetAdmission
from domains.billing.allowance import (
    FIRST_REQUESTS,
    MOST_REQUESTS,
    SHARE_DIVISOR,
    allowance_size,
    grown,
    shrunk,
)
from domains.billing.budget import Amount, Budget
from domains.billing.events import BudgetThresholdCrossed
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from domains.shared.usage import Usage
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter
from tests.support.clock import FakeClock

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1", user_id="u1")
PRICE = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))  # $1 / $2 per Mtok
# 1,000 prompt tokens and at most 2,000 out: $0.005 and 3,000 tokens at most
EACH = Amount(5 * 10**9, 3_000)


def estimate() -> tuple[int, int]:
    return 1_000, 2_000


class CountingStore(InMemoryLimitStore):
    """The in-process store, counting its admissions (and how many requests each took) and
    settlements; its rate buckets on a clock that stands still, so nothing refills."""

    def __init__(self, round_trip: bool = False) -> None:
        super().__init__(limiter=InMemoryRateLimiter(clock=lambda: 1_000.0))
        self.admits: list[int] = []
        self.finishes = 0
        self.round_trip = round_trip  # whether an admission lets the loop run others first

    async def admit(self, *args: Any, **kwargs: Any) -> Any:
        self.admits.append(kwargs.get("requests", 1))
        if self.round_trip:
            await asyncio.sleep(0)
        return await super().admit(*args, **kwargs)

    async def finish(self, *args: Any, **kwargs: Any) -> Any:
        self.finishes += 1
        return await super().finish(*args, **kwargs)

    async def nothing_spent(self, budget: Budget, now: datetime) -> Amount:
        return Amount(0, 0)


def admission(
    store: CountingStore,
    budgets: Sequence[Budget],
    rates: Sequence[RateLimit] = (),
    *,
    age: float = 60.0,
    published: list[BudgetThresholdCrossed] | None = None,
    monotonic: FakeClock | None = None,
) -> BudgetAdmission:
    snapshot = LimitsSnapshot.of(budgets, rates, {("openai", "m"): PRICE})

    async def publish(crossings: Sequence[BudgetThresholdCrossed]) -> None:
        if published is not None:
            published.extend(crossings)

    return BudgetAdmission(
        limits=lambda: snapshot,
        store=store,
        spent_in_window=store.nothing_spent,
        publish=publish,
        allowances=True,
        allowance_age=age,
        clock=lambda: NOW,
        monotonic=monotonic or FakeClock(0.0, step=age),
    )


def team_usd(dollars: int) -> Budget:
    return Budget("team", "t1", "month", dollars * USD, None)


def test_an_allowance_takes_at_most_its_share_of_every_limit() -> None:
    windows = {"team:t1:month:2026-11": team_usd(1_000)}
    assert allowance_size([], windows, EACH) == FIRST_REQUESTS
    assert allowance_size([], windows, EACH, MOST_REQUESTS) == MOST_REQUESTS
    # $1.60 is 320 requests of $0.005: a 64th of it is 5
    small = {"team:t1:month:2026-11": Budget("team", "t1", "month", 16 * 10**11, None)}
    assert allowance_size([], small, EACH) == 320 // SHARE_DIVISOR
    assert allowance_size([RateLimit("key", "k1", 640, None)], windows, EACH) == 10
    assert allowance_size([RateLimit("key", "k1", None, 64 * 3_000 * 4)], windows, EACH) == 4
    # under two requests' worth: none, the request goes alone
    assert allowance_size([RateLimit("key", "k1", 100, None)], windows, EACH) == 0
    tokens = {"key:k1:day:2026-11-23": Budget("key", "k1", "day", None, 64 * 3_000)}
    assert allowance_size([], tokens, EACH) == 0


async def test_most_requests_cost_no_call_of_the_store_and_each_is_charged_exactly() -> None:
    store = CountingStore()
    budget = team_usd(1_000)
    rate = RateLimit("key", "k1", rpm=100_000, tpm=10**9)
    limits = admission(store, [budget], [rate])
    for i in range(100):
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        ticket.settle(Usage(input_tokens=100 + i, output_tokens=10))
        await asyncio.sleep(0)  # a server's loop runs the work beside between requests
    # the first slice's admission found the window unseeded, and came again once it was seeded;
    # then 32 + 32 + 32 + 4 of the fourth slice, each but the first taken beside once the one
    # before was half used
    assert store.admits == [FIRST_REQUESTS] * 5
    assert store.finishes == 3
    await limits.stop()
    assert store.finishes == 4
    spent_pusd = sum((100 + i) * 10**6 + 10 * 2 * 10**6 for i in range(100))
    spent_tokens = sum(100 + i + 10 for i in range(100))
    assert await store.ledger.spent(budget, now=NOW) == (
        Amount(spent_pusd, spent_tokens),
        Amount(0, 0),
    )
    # the rate buckets hold what the requests took: 100 requests, their tokens; the rest of
    # the last slice went back
    shown = store.limiter.check([rate], 0, requests=0).decision
    assert shown.requests is not None
    assert shown.tokens is not None
    assert shown.requests.remaining == 100_000 - 100
    assert shown.tokens.remaining == 10**9 - spent_tokens


async def test_concurrent_requests_take_allowances_one_at_a_time_and_leave_nothing_held() -> None:
    """Requests that find their allowance used up while the next one is being taken beside
    wait for it; none is taken twice at once, and once stopped, nothing stays held."""
    store = CountingStore(round_trip=True)
    budget = team_usd(1_000)
    limits = admission(store, [budget], [RateLimit("key", "k1", 10**6, None)])
    charged = Amount(0, 0)

    async def request(i: int) -> Amount:
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        await asyncio.sleep(0)
        ticket.settle(Usage(input_tokens=i, output_tokens=2 * i))
        return Amount(5 * i * 10**6, 3 * i)

    for wave in range(30):
        for used in await asyncio.gather(*(request(wave * 16 + i) for i in range(16))):
            charged = charged + used
    await limits.stop()
    assert await store.ledger.spent(budget, now=NOW) == (charged, EMPTY)
    assert len(store.admits) < 480 / 8  # most requests came from allowances


async def test_a_request_from_an_allowance_shows_the_rate_headers_it_would_alone() -> None:
    store = CountingStore()
    limits = admission(store, [team_usd(1_000)], [RateLimit("key", "k1", 6_400, None)])
    remaining = []
    for _ in range(3):
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        remaining.append(int(ticket.headers["x-ratelimit-remaining-requests"]))
        assert ticket.headers["x-ratelimit-limit-requests"] == "6400"
    assert remaining == [6_399, 6_398, 6_397]
    assert store.admits == [FIRST_REQUESTS] * 2  # the first found the window unseeded


async def test_limits_too_small_for_a_slice_admit_one_request_at_a_time_exactly() -> None:
    store = CountingStore()
    budget = Budget("team", "t1", "month", 5 * EACH.picousd, None)  # five requests' worth
    limits = admission(store, [budget])
    tickets = [await limits.admit(CALLER, "openai", "m", estimate) for _ in range(5)]
    with pytest.raises(LimitExceeded):
        await limits.admit(CALLER, "openai", "m", estimate)
    assert store.admits == [1] * 7  # the first found the window unseeded
    for ticket in tickets:
        ticket.settle(Usage(input_tokens=1_000, output_tokens=2_000))
    await limits.stop()
    assert await store.ledger.spent(budget, now=NOW) == (Amount(5 * EACH.picousd, 15_000), EMPTY)


EMPTY = Amount(0, 0)


async def test_two_replicas_never_admit_more_than_the_budget_holds() -> None:
    store = CountingStore()  # shared by both, as Redis is
    budget = Budget("team", "t1", "month", 640 * EACH.picousd, None)  # 640 requests' worth
    replicas = [admission(store, [budget]), admission(store, [budget])]
    held = []
    refused = [False, False]
    while not all(refused):
        for i, replica in enumerate(replicas):
            if refused[i]:
                continue
            try:
                held.append(await replica.admit(CALLER, "openai", "m", estimate))
            except LimitExceeded:
                refused[i] = True
    # slices of 10; what one replica's allowance holds unused is lost to the other at most
    assert 640 - 2 * 10 <= len(held) <= 640
    for ticket in held:
        ticket.release()
    for replica in replicas:
        await replica.stop()
    assert await store.ledger.spent(budget, now=NOW) == (EMPTY, EMPTY)


async def test_an_idle_allowance_gives_back_what_it_holds_once_its_age_is_up() -> None:
    store = CountingStore()
    budget = team_usd(1_000)
    limits = admission(store, [budget], age=0.05)
    ticket = await limits.admit(CALLER, "openai", "m", estimate)
    assert (await store.ledger.spent(budget, now=NOW))[1] == Amount(
        FIRST_REQUESTS * EACH.picousd, FIRST_REQUESTS * EACH.tokens
    )
    ticket.settle(Usage(input_tokens=10, output_tokens=10))
    await asyncio.sleep(0.1)
    await limits.wait_settled()
    assert await store.ledger.spent(budget, now=NOW) == (Amount(30 * 10**6, 20), EMPTY)
    # the next request takes a new allowance (the first came again once the window was seeded)
    await limits.admit(CALLER, "openai", "m", estimate)
    assert store.admits == [FIRST_REQUESTS] * 3


async def test_a_threshold_crossed_by_requests_of_an_allowance_is_told_once() -> None:
    store = CountingStore()
    published: list[BudgetThresholdCrossed] = []
    budget = team_usd(10)  # $5 is 1,000 requests of $0.005
    limits = admission(store, [budget], published=published)
    for _ in range(1_100):
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        ticket.settle(Usage(input_tokens=1_000, output_tokens=2_000))
    await limits.stop()
    assert [(event.percent, event.measure) for event in published] == [(50, "usd")]


async def test_a_request_that_uses_more_than_it_held_is_still_charged_all_of_it() -> None:
    store = CountingStore()
    budget = team_usd(1_000)
    limits = admission(store, [budget])
    ticket = await limits.admit(CALLER, "openai", "m", estimate)
    ticket.settle(
        Usage(input_tokens=10_000, output_tokens=10_000)
    )  # a tokenizer that counted fewer than the upstream did
    await limits.stop()
    assert await store.ledger.spent(budget, now=NOW) == (Amount(30 * 10**9, 20_000), EMPTY)


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.integers(0, 1_500), st.integers(0, 2_500)),
        min_size=1,
        max_size=120,
    ),
    budget_requests=st.integers(1, 400),
)
def test_allowances_never_overrun_and_charge_exactly_what_was_used(
    steps: list[tuple[bool, int, int]], budget_requests: int
) -> None:
    """Random admissions from two replicas, settled in a random order with random usage: the
    budget's spend and holds never pass its limit, and once both replicas stop, its spend is
    the sum of what the requests used and nothing is held."""

    async def run() -> None:
        store = CountingStore()
        limit = budget_requests * EACH.picousd
        budget = Budget("team", "t1", "month", limit, None)
        replicas = [admission(store, [budget]), admission(store, [budget])]
        open_tickets: list[Any] = []
        charged = Amount(0, 0)
        for i, (settle_one, used_in, used_out) in enumerate(steps):
            if settle_one and open_tickets:
                ticket = open_tickets.pop(used_in % len(open_tickets))
                ticket.settle(Usage(input_tokens=used_in, output_tokens=used_out))
                charged = charged + Amount((used_in + 2 * used_out) * 10**6, used_in + used_out)
            else:
                with contextlib.suppress(LimitExceeded):
                    open_tickets.append(
                        await replicas[i % 2].admit(CALLER, "openai", "m", estimate)
                    )
            spent, held = await store.ledger.spent(budget, now=NOW)
            assert spent.picousd + held.picousd <= max(limit, charged.picousd)
        for ticket in open_tickets:
            ticket.release()
        for replica in replicas:
            await replica.stop()
        assert await store.ledger.spent(budget, now=NOW) == (charged, EMPTY)

    asyncio.run(run())


async def test_a_new_snapshot_or_a_new_day_applies_at_once() -> None:
    """A caller's limits are looked up once per snapshot and UTC day: a changed limit, or the
    next day's window, applies to the very next request."""
    store = CountingStore()
    day_budget = Budget("key", "k1", "day", None, 3 * EACH.tokens)  # three requests a day
    snapshots = [LimitsSnapshot.of([day_budget], [], {("openai", "m"): PRICE})]
    clock = [NOW]
    limits = BudgetAdmission(
        limits=lambda: snapshots[-1],
        store=store,
        spent_in_window=store.nothing_spent,
        allowances=True,
        clock=lambda: clock[0],
    )
    for _ in range(3):
        await limits.admit(CALLER, "openai", "m", estimate)
    with pytest.raises(LimitExceeded):
        await limits.admit(CALLER, "openai", "m", estimate)
    clock[0] = NOW.replace(day=24)  # a new day's window
    await limits.admit(CALLER, "openai", "m", estimate)
    snapshots.append(LimitsSnapshot.of([], [], {("openai", "m"): PRICE}))  # the limit removed
    assert await limits.admit(CALLER, "openai", "m", estimate) is FREE


def test_a_callers_allowance_grows_to_the_most_and_shrinks_to_the_first() -> None:
    sizes = [FIRST_REQUESTS]
    while sizes[-1] < MOST_REQUESTS:
        sizes.append(grown(sizes[-1]))
    assert sizes == [32, 64, 128, 256, 512]
    assert grown(MOST_REQUESTS) == MOST_REQUESTS
    assert shrunk(128) == 64
    assert shrunk(FIRST_REQUESTS) == FIRST_REQUESTS
    # however large it grows, an allowance takes no more than its share of a limit
    small = {"team:t1:month:2026-11": Budget("team", "t1", "month", 100 * 64 * EACH.picousd, None)}
    assert allowance_size([], small, EACH, MOST_REQUESTS) == 100


async def test_a_busy_callers_allowances_grow_and_every_request_is_charged_exactly() -> None:
    """Each allowance half used at once (the clock stands still): the next one is twice as
    large, up to the most, so the store is called far less often."""
    store = CountingStore()
    budget = team_usd(100_000)
    limits = admission(store, [budget], monotonic=FakeClock(0.0, step=0.0))
    for i in range(2_000):
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        ticket.settle(Usage(input_tokens=100 + i % 7, output_tokens=10))
        await asyncio.sleep(0)
    await limits.stop()
    # the first found the window unseeded; each after it, taken beside, twice the one before
    assert store.admits[:6] == [32, 32, 64, 128, 256, 512]
    assert set(store.admits[6:]) == {MOST_REQUESTS}
    assert len(store.admits) <= 2 + 2_000 // 256
    spent_pusd = sum((100 + i % 7) * 10**6 + 10 * 2 * 10**6 for i in range(2_000))
    spent_tokens = sum(100 + i % 7 + 10 for i in range(2_000))
    assert await store.ledger.spent(budget, now=NOW) == (
        Amount(spent_pusd, spent_tokens),
        EMPTY,
    )


async def test_a_grown_allowance_stays_within_its_share_of_a_limit() -> None:
    store = CountingStore()
    rate = RateLimit("key", "k1", rpm=64 * 100, tpm=None)  # a 64th: 100 requests
    limits = admission(store, [team_usd(100_000)], [rate], monotonic=FakeClock(0.0, step=0.0))
    for _ in range(1_000):
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        ticket.settle(Usage(input_tokens=10, output_tokens=10))
        await asyncio.sleep(0)
    await limits.stop()
    assert max(store.admits) == 100
    assert store.admits[:4] == [32, 32, 64, 100]


async def test_an_allowance_that_reaches_its_age_little_used_makes_the_next_one_smaller() -> None:
    store = CountingStore()
    clock = FakeClock(0.0, step=0.0)
    limits = admission(store, [team_usd(100_000)], age=0.05, monotonic=clock)
    for _ in range(200):  # busy: grown to 256 and beyond
        ticket = await limits.admit(CALLER, "openai", "m", estimate)
        ticket.settle(Usage(input_tokens=10, output_tokens=10))
        await asyncio.sleep(0)
    grown_to = store.admits[-1]
    assert grown_to >= 128
    clock.step = 1.0  # from now on the caller is slow
    await asyncio.sleep(0.1)  # the allowances reach their age, little used
    await limits.wait_settled()
    ticket = await limits.admit(CALLER, "openai", "m", estimate)
    assert store.admits[-1] == grown_to // 2
    ticket.settle(Usage(input_tokens=10, output_tokens=10))
    await limits.stop()
