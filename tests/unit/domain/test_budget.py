"""Budgets: UTC calendar windows, window keys, the most a request can cost, and the in-memory
limit store's budget windows against a model: never over a limit, and everything reserved is
settled or released."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domains.billing.budget import (
    Amount,
    Budget,
    Refusal,
    Reservation,
    forget_at,
    max_request_amount,
    merged_windows,
    period_end,
    period_of,
    retention_seconds,
    window,
)
from domains.billing.model import Price
from domains.shared.money import to_picodollars
from domains.shared.usage import Usage
from infrastructure.billing.memory_budget_ledger import InMemoryBudgetLedger
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from tests.support import limit_store
from tests.support.clock import FakeClock

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MINI = Price(Decimal("0.15"), Decimal("0.60"))


# --- windows and keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day", "month"),
    [
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "2026-11-23", "2026-11"),
        (datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC), "2026-11-30", "2026-11"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "2026-12-01", "2026-12"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2026-12-31", "2026-12"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "2027-01-01", "2027-01"),
        (datetime(2028, 2, 29, 8, 0, tzinfo=UTC), "2028-02-29", "2028-02"),
        # 01:30 in UTC+2 on the 1st is still the 30th (and November) in UTC
        (
            datetime(2026, 12, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-30",
            "2026-11",
        ),
        # 20:00 in UTC-5 on the 30th is already the 1st (and December) in UTC
        (
            datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-12-01",
            "2026-12",
        ),
    ],
)
def test_windows_are_utc_calendar_days_and_months(now: datetime, day: str, month: str) -> None:
    assert window("day", now) == day
    assert window("month", now) == month
    assert window("total", now) == "total"


def test_a_naive_datetime_has_no_window() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window("day", datetime(2026, 11, 23))


def test_keys_are_stable_and_name_scope_period_and_window() -> None:
    assert Budget("team", "t1", "day", 10, None).key(NOW) == "team:t1:day:2026-11-23"
    assert Budget("org", "o1", "month", None, 5).key(NOW) == "org:o1:month:2026-11"
    assert Budget("key", "k1", "total", 1, 1).key(NOW) == "key:k1:total"
    later = NOW + timedelta(hours=11, minutes=59)
    assert Budget("user", "u1", "day", 1, None).key(later) == "user:u1:day:2026-11-23"
    assert Budget("user", "u1", "day", 1, None).key(later + timedelta(minutes=1)) == (
        "user:u1:day:2026-11-24"
    )


def test_keys_give_their_period_and_retention() -> None:
    assert period_of("team:t1:day:2026-11-23") == "day"
    assert retention_seconds("team:t1:day:2026-11-23") == 3 * 86_400
    assert retention_seconds("org:o1:month:2026-11") == 40 * 86_400
    assert retention_seconds("key:k1:total") is None


def test_a_window_is_forgotten_its_retention_after_its_period_or_after_a_late_first_write() -> None:
    assert period_end("team:t1:day:2026-11-23") == datetime(2026, 11, 24, tzinfo=UTC).timestamp()
    assert period_end("org:o1:month:2026-12") == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert period_end("key:k1:total") is None
    end = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert forget_at("org:o1:month:2026-11", end - 86_400) == end + 40 * 86_400
    assert forget_at("org:o1:month:2026-11", end + 5) == end + 5 + 40 * 86_400  # a late settlement
    assert forget_at("key:k1:total", end) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: Budget("team", "a:b", "day", 1, None),
        lambda: Budget("team", "", "day", 1, None),
        lambda: Budget("team", "t", "day", -1, None),
        lambda: Budget("team", "t", "week", 1, None),  # type: ignore[arg-type]
        lambda: Amount(-1, 0),
        lambda: Amount(0, -1),
    ],
)
def test_invalid_budgets_and_amounts_are_refused(make: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        make()  # type: ignore[operator]


def test_a_window_named_twice_keeps_the_tighter_limits() -> None:
    merged = merged_windows(
        [
            Budget("team", "t", "day", 100, None),
            Budget("key", "k", "total", 5, 5),
            Budget("team", "t", "day", 200, 50),
        ],
        NOW,
    )
    assert list(merged) == ["team:t:day:2026-11-23", "key:k:total"]
    assert merged["team:t:day:2026-11-23"] == Budget("team", "t", "day", 100, 50)


# --- the most a request can cost ----------------------------------------------------------


def test_max_request_amount_prices_prompt_and_all_possible_output() -> None:
    # 1234 * 0.15 + 567 * 0.60 = 525.30 USD per million tokens = 0.0005253 USD
    amount = max_request_amount(MINI, 1234, 567)
    assert amount == Amount(525_300_000, 1234 + 567)
    assert amount.picousd == to_picodollars(MINI.cost(Usage(input_tokens=1234, output_tokens=567)))


def test_max_request_amount_rounds_a_fraction_of_a_picodollar_up() -> None:
    tiny = Price(Decimal("0.0000001"), Decimal("0.0000003"))  # 0.1 and 0.3 picodollars a token
    assert max_request_amount(tiny, 1, 0).picousd == 1
    assert max_request_amount(tiny, 10, 0).picousd == 1
    assert max_request_amount(tiny, 11, 0).picousd == 2
    assert max_request_amount(tiny, 1, 1).picousd == 1  # 0.4 → 1
    assert max_request_amount(tiny, 0, 0) == Amount(0, 0)


def test_max_request_amount_is_exact_where_float_would_not_be() -> None:
    price = Price(Decimal("0.1"), Decimal("0.2"))  # 0.1 + 0.2 != 0.3 in binary floats
    assert max_request_amount(price, 1_000_000, 1_000_000).picousd == 300_000_000_000


def test_unpriced_requests_count_tokens_only() -> None:
    assert max_request_amount(None, 100, 50) == Amount(0, 150)


def test_a_dearer_cached_price_bounds_the_prompt() -> None:
    odd = Price(Decimal("1"), Decimal("2"), cached_input_per_mtok=Decimal("3"))
    assert max_request_amount(odd, 1_000_000, 0).picousd == 3 * 10**12


def test_negative_token_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        max_request_amount(MINI, -1, 0)


PRICES = st.decimals(min_value=0, max_value=1000, places=9, allow_nan=False, allow_infinity=False)


@given(PRICES, PRICES, st.integers(0, 10**7), st.integers(0, 10**7))
def test_max_request_amount_is_the_exact_cost_rounded_up(
    input_price: Decimal, output_price: Decimal, prompt: int, output: int
) -> None:
    amount = max_request_amount(Price(input_price, output_price), prompt, output)
    exact = (Fraction(input_price) * prompt + Fraction(output_price) * output) * 10**6
    assert amount.picousd == math.ceil(exact)
    assert amount.tokens == prompt + output


LISTED_PRICES = st.decimals(
    min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False
)


@given(LISTED_PRICES, LISTED_PRICES, LISTED_PRICES, st.integers(0, 10**7), st.integers(0, 10**7))
def test_prices_with_six_decimals_cost_the_same_in_whole_picodollars(
    input_price: Decimal, output_price: Decimal, cached_price: Decimal, prompt: int, output: int
) -> None:
    price = Price(input_price, output_price, cached_input_per_mtok=cached_price)
    assert price.whole_pico is not None
    amount = max_request_amount(price, prompt, output)
    dearer = max(Fraction(input_price), Fraction(cached_price))
    assert amount.picousd == (dearer * prompt + Fraction(output_price) * output) * 10**6


def test_a_price_finer_than_a_picodollar_a_token_is_not_made_whole() -> None:
    assert Price(Decimal("0.0000001"), Decimal("1")).whole_pico is None
    # in the order of Usage.parts: input, cache reads, 5-minute and 1-hour writes, output,
    # reasoning; an unset one is the rate it stands in for
    assert Price(Decimal("1"), Decimal("2.5000000")).whole_pico == (
        (1_000_000,) * 4 + (2_500_000,) * 2
    )
    assert Price(Decimal("1"), Decimal("2"), Decimal("3")).whole_pico == (
        1_000_000,
        3_000_000,
        1_000_000,
        1_000_000,
        2_000_000,
        2_000_000,
    )


# --- the in-memory store's budget windows against a model ----------------------------------


@dataclass
class Model:
    budgets: list[Budget]
    spent: dict[str, Amount] = field(default_factory=dict)
    reserved: dict[str, Amount] = field(default_factory=dict)
    held: dict[str, tuple[Reservation, str]] = field(default_factory=dict)  # id → (r, state)

    def reserve(self, chosen: list[Budget], amount: Amount) -> tuple[str, str] | None:
        for budget in chosen:
            key = budget.key(NOW)
            used = self.spent.get(key, Amount(0, 0)) + self.reserved.get(key, Amount(0, 0))
            if (
                budget.max_picousd is not None
                and used.picousd + amount.picousd > budget.max_picousd
            ):
                return key, "usd"
            if budget.max_tokens is not None and used.tokens + amount.tokens > budget.max_tokens:
                return key, "tokens"
        return None

    def hold(self, reservation: Reservation) -> None:
        if not reservation.keys:  # no budget applies: nothing is held, nothing to settle
            return
        for key in reservation.keys:
            self.reserved[key] = self.reserved.get(key, Amount(0, 0)) + reservation.amount
        self.held[reservation.id] = (reservation, "held")

    def free(self, reservation: Reservation) -> None:
        for key in reservation.keys:
            left = self.reserved[key]
            self.reserved[key] = Amount(
                left.picousd - reservation.amount.picousd, left.tokens - reservation.amount.tokens
            )

    def settle(self, reservation: Reservation, actual: Amount) -> None:
        state = self.held[reservation.id][1]
        if state == "settled":
            return
        if state == "held":
            self.free(reservation)
        for key in reservation.keys:
            self.spent[key] = self.spent.get(key, Amount(0, 0)) + actual
        self.held[reservation.id] = (reservation, "settled")


LIMITS = st.one_of(st.none(), st.integers(0, 3000))
BUDGET_SETS = st.tuples(LIMITS, LIMITS, LIMITS, LIMITS, LIMITS, LIMITS).map(
    lambda limits: [
        Budget("org", "o", "month", limits[0], limits[1]),
        Budget("team", "t", "day", limits[2], limits[3]),
        Budget("key", "k", "total", limits[4], limits[5]),
    ]
)
OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("reserve"),
            st.lists(st.integers(0, 2), max_size=3),
            st.integers(0, 800),
            st.integers(0, 800),
            st.integers(1, 60),  # ttl
        ),
        st.tuples(st.just("settle"), st.integers(0, 50), st.fractions(0, 1), st.fractions(0, 1)),
        st.tuples(st.just("release"), st.integers(0, 50)),
        st.tuples(st.just("again"), st.integers(0, 50)),
        st.tuples(st.just("tick"), st.integers(0, 40)),
    ),
    max_size=60,
)


def _part(amount: Amount, usd: Fraction, tokens: Fraction) -> Amount:
    return Amount(int(amount.picousd * usd), int(amount.tokens * tokens))


async def _run(budgets: list[Budget], ops: list[tuple[object, ...]], expiry: bool) -> None:
    clock = FakeClock(1_000_000.0)
    store = InMemoryLimitStore(InMemoryBudgetLedger(clock=clock))
    model = Model(budgets)
    actuals: dict[str, Amount] = {}  # key → the sum of what was settled against it

    async def settle(reservation: Reservation, actual: Amount) -> None:
        if model.held[reservation.id][1] != "settled":
            for key in reservation.keys:
                actuals[key] = actuals.get(key, Amount(0, 0)) + actual
        model.settle(reservation, actual)
        await limit_store.settle(store, reservation, actual)

    def outstanding() -> list[Reservation]:
        return [r for r, state in model.held.values() if state != "settled"]

    for op in ops:
        if op[0] == "reserve":
            chosen = [budgets[i] for i in op[1]]  # type: ignore[attr-defined]
            amount = Amount(op[2], op[3])  # type: ignore[arg-type]
            expected = model.reserve(chosen, amount)
            result = await limit_store.reserve(store, chosen, amount, now=NOW, ttl=op[4])  # type: ignore[arg-type]
            if expected is None and not chosen:  # no budget applies: nothing is held
                assert result is None
            elif expected is None:
                assert isinstance(result, Reservation)
                model.hold(result)
            else:
                assert isinstance(result, Refusal)
                assert (result.budget_key, result.limit) == expected
        elif op[0] in ("settle", "release") and outstanding():
            reservation = outstanding()[op[1] % len(outstanding())]  # type: ignore[operator]
            if op[0] == "settle":
                await settle(reservation, _part(reservation.amount, op[2], op[3]))  # type: ignore[arg-type]
            else:
                await settle(reservation, Amount(0, 0))
        elif op[0] == "again" and model.held:
            done = [r for r, state in model.held.values() if state == "settled"]
            if done:
                await limit_store.settle(store, done[op[1] % len(done)], Amount(7, 7))  # type: ignore[operator]
        elif op[0] == "tick" and expiry:
            clock.now += op[1]  # type: ignore[operator]
            due = [r for r, s in model.held.values() if s == "held" and r.expires_at <= clock.now]
            for reservation in due:
                model.free(reservation)
                model.held[reservation.id] = (reservation, "expired")
            assert await store.release_expired() == len(due)

        for budget in budgets:
            key = budget.key(NOW)
            spent, reserved = await store.spent(budget, now=NOW)
            assert spent == model.spent.get(key, Amount(0, 0))
            assert reserved == model.reserved.get(key, Amount(0, 0))
            if not expiry:  # a late settlement after a release may rightly overrun
                used = spent + reserved
                assert budget.max_picousd is None or used.picousd <= budget.max_picousd
                assert budget.max_tokens is None or used.tokens <= budget.max_tokens

    for reservation in outstanding():
        await settle(reservation, _part(reservation.amount, Fraction(1, 2), Fraction(1, 3)))
    for budget in budgets:
        key = budget.key(NOW)
        spent, reserved = await store.spent(budget, now=NOW)
        assert reserved == Amount(0, 0)
        assert spent == actuals.get(key, Amount(0, 0))


@settings(max_examples=300)
@given(BUDGET_SETS, OPS)
def test_the_memory_ledger_never_overruns_and_settles_to_the_actuals(
    budgets: list[Budget], ops: list[tuple[object, ...]]
) -> None:
    asyncio.run(_run(budgets, ops, expiry=False))


@settings(max_examples=400)
@given(BUDGET_SETS, OPS)
@example(  # a late settlement after the janitor freed it must not free the window twice
    [Budget("org", "o", "month", None, None)] * 3,
    [
        ("reserve", [0], 10, 10, 1),
        ("tick", 1),
        ("reserve", [0], 10, 10, 5),
        ("settle", 0, Fraction(1), Fraction(1)),
    ],
)
def test_the_memory_ledger_with_expiries_still_settles_to_the_actuals(
    budgets: list[Budget], ops: list[tuple[object, ...]]
) -> None:
    asyncio.run(_run(budgets, ops, expiry=True))
