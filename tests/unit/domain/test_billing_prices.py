"""What a call costs: exact Decimal arithmetic, cached-token pricing, and the price book."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price

MINI = Price(Decimal("0.15"), Decimal("0.60"))
WITH_CACHE = Price(Decimal("2.50"), Decimal("10"), cached_input_per_mtok=Decimal("1.25"))


def test_cost_is_exact_decimal() -> None:
    # 1234 * 0.15 + 567 * 0.60 = 185.10 + 340.20 = 525.30 per million tokens
    cost = MINI.cost(1234, 567)
    assert isinstance(cost, Decimal)
    assert cost == Decimal("0.0005253")
    assert cost != Decimal(float(cost))  # a binary float could not hold it exactly


def test_cost_of_nothing_is_zero() -> None:
    assert MINI.cost(0, 0) == 0


def test_cost_of_one_million_tokens_is_the_listed_price() -> None:
    assert MINI.cost(1_000_000, 0) == Decimal("0.15")
    assert MINI.cost(0, 1_000_000) == Decimal("0.60")


def test_cached_tokens_are_priced_at_the_cached_price() -> None:
    # 600 uncached * 2.50 + 400 cached * 1.25 + 100 out * 10 = 1500 + 500 + 1000
    assert WITH_CACHE.cost(1000, 100, cached_tokens=400) == Decimal("0.003")


def test_cached_tokens_cost_the_input_price_when_no_cached_price_is_set() -> None:
    assert MINI.cost(1000, 0, cached_tokens=400) == MINI.cost(1000, 0)


def test_cached_tokens_beyond_input_are_clamped_to_input() -> None:
    # every input token is cached: 100 * 1.25, never a negative uncached count
    assert WITH_CACHE.cost(100, 0, cached_tokens=500) == Decimal("0.000125")
    assert WITH_CACHE.cost(100, 0, cached_tokens=500) == WITH_CACHE.cost(100, 0, cached_tokens=100)


def test_negative_cached_tokens_count_as_none() -> None:
    assert WITH_CACHE.cost(100, 0, cached_tokens=-50) == WITH_CACHE.cost(100, 0)


@given(
    input_tokens=st.integers(0, 10**9),
    output_tokens=st.integers(0, 10**9),
    cached=st.integers(-(10**9), 2 * 10**9),
)
def test_cost_matches_integer_arithmetic_in_millionths_of_a_cent(
    input_tokens: int, output_tokens: int, cached: int
) -> None:
    # prices in units of 0.01 USD per Mtok, so the exact total is an integer we can check
    cost = WITH_CACHE.cost(input_tokens, output_tokens, cached)
    c = min(max(cached, 0), input_tokens)
    hundredths = (input_tokens - c) * 250 + c * 125 + output_tokens * 1000
    assert cost * 1_000_000 * 100 == hundredths
    assert cost >= 0
    assert cost <= Price(Decimal("2.50"), Decimal("10")).cost(input_tokens, output_tokens)


def test_the_limits_snapshot_finds_prices_by_provider_and_model() -> None:
    snapshot = LimitsSnapshot.of(prices={("openai", "gpt-4o-mini"): MINI})
    assert snapshot.price_of("openai", "gpt-4o-mini") is MINI
    assert snapshot.price_of("azure", "gpt-4o-mini") is None
    assert snapshot.price_of("openai", "gpt-4o") is None


def test_the_limits_snapshot_copies_its_prices() -> None:
    prices = {("openai", "gpt-4o-mini"): MINI}
    snapshot = LimitsSnapshot.of(prices=prices)
    prices.clear()
    assert snapshot.price_of("openai", "gpt-4o-mini") is MINI


def test_price_is_immutable() -> None:
    with pytest.raises(AttributeError):
        MINI.input_per_mtok = Decimal(0)  # type: ignore[misc]
