"""What a call costs: exact Decimal arithmetic, every kind of token at its rate (cache reads and
writes, reasoning), long-context tiers, the reservation's bound, and the price book."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domains.billing.budget import max_request_amount
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price, PriceRuleBroken, PriceTier
from domains.shared.money import to_picodollars
from domains.shared.usage import Usage

MINI = Price(Decimal("0.15"), Decimal("0.60"))
WITH_CACHE = Price(Decimal("2.50"), Decimal("10"), cached_input_per_mtok=Decimal("1.25"))
# Claude Sonnet 4.5 with its 1M context: above 200,000 prompt tokens every rate doubles (output
# x1.5); 5-minute cache writes cost 1.25 times the input, 1-hour ones twice, reads a tenth.
SONNET = Price(
    Decimal(3),
    Decimal(15),
    cached_input_per_mtok=Decimal("0.30"),
    cache_write_5m_per_mtok=Decimal("3.75"),
    cache_write_1h_per_mtok=Decimal(6),
    tiers=(
        PriceTier(
            Decimal(6),
            Decimal("22.50"),
            cached_input_per_mtok=Decimal("0.60"),
            cache_write_5m_per_mtok=Decimal("7.50"),
            cache_write_1h_per_mtok=Decimal(12),
            above_input_tokens=200_000,
        ),
    ),
)
# Gemini 2.5 Pro: thinking tokens are output tokens; above 200,000 prompt tokens, dearer.
GEMINI_PRO = Price(
    Decimal("1.25"),
    Decimal(10),
    cached_input_per_mtok=Decimal("0.125"),
    tiers=(
        PriceTier(
            Decimal("2.50"),
            Decimal(15),
            cached_input_per_mtok=Decimal("0.25"),
            above_input_tokens=200_000,
        ),
    ),
)


def used(
    input_tokens: int = 0,
    output_tokens: int = 0,
    *,
    cached: int = 0,
    write_5m: int = 0,
    write_1h: int = 0,
    reasoning: int = 0,
) -> Usage:
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=reasoning,
    )


def test_cost_is_exact_decimal() -> None:
    # 1234 * 0.15 + 567 * 0.60 = 185.10 + 340.20 = 525.30 per million tokens
    cost = MINI.cost(used(1234, 567))
    assert isinstance(cost, Decimal)
    assert cost == Decimal("0.0005253")
    assert cost != Decimal(float(cost))  # a binary float could not hold it exactly


def test_cost_of_nothing_is_zero() -> None:
    assert MINI.cost(used()) == 0
    assert MINI.picousd(used()) == 0


def test_cost_of_one_million_tokens_is_the_listed_price() -> None:
    assert MINI.cost(used(1_000_000, 0)) == Decimal("0.15")
    assert MINI.cost(used(0, 1_000_000)) == Decimal("0.60")


def test_cached_tokens_are_priced_at_the_cached_price() -> None:
    # 600 uncached * 2.50 + 400 cached * 1.25 + 100 out * 10 = 1500 + 500 + 1000
    assert WITH_CACHE.cost(used(1000, 100, cached=400)) == Decimal("0.003")


def test_unset_rates_stand_in_for_each_other() -> None:
    # cache reads and 5-minute writes at the input rate, 1-hour writes at the 5-minute one,
    # reasoning at the output rate: an old price costs what it always did
    assert MINI.cost(used(1000, 0, cached=400)) == MINI.cost(used(1000, 0))
    assert MINI.cost(used(1000, 50, write_5m=300, write_1h=200, reasoning=40)) == MINI.cost(
        used(1000, 50)
    )
    five_minutes = replace(MINI, cache_write_5m_per_mtok=Decimal(1))
    assert five_minutes.cost(used(100, 0, write_1h=100)) == Decimal("0.0001")


def test_every_kind_of_token_is_priced_at_its_own_rate() -> None:
    # the worked example of docs/pricing.md: 1,000 prompt tokens of which 600 read from the
    # cache, 100 written for 5 minutes, 200 for an hour; 500 output of which 300 reasoning
    price = replace(SONNET, reasoning_output_per_mtok=Decimal(20), tiers=())
    usage = used(1000, 500, cached=600, write_5m=100, write_1h=200, reasoning=300)
    # 100 * 3 + 600 * 0.30 + 100 * 3.75 + 200 * 6 + 200 * 15 + 300 * 20 per million tokens
    per_mtok = Decimal(300) + 180 + 375 + 1200 + 3000 + 6000
    assert price.cost(usage) == per_mtok / 1_000_000 == Decimal("0.011055")
    assert price.picousd(usage) == 11_055_000_000


def test_reasoning_tokens_are_part_of_the_output_never_counted_twice() -> None:
    # OpenAI's completion_tokens and the gateway's output_tokens include the reasoning tokens:
    # at the output price (no reasoning price set), 500 output tokens cost 500 output tokens
    assert MINI.cost(used(0, 500, reasoning=300)) == MINI.cost(used(0, 500))
    dearer = replace(MINI, reasoning_output_per_mtok=Decimal("1.60"))
    assert (
        dearer.cost(used(0, 500, reasoning=300))
        == (200 * Decimal("0.6") + 300 * Decimal("1.6")) / 10**6
    )
    # more reasoning than output (an upstream's mistake) is all the output, no more
    assert dearer.cost(used(0, 500, reasoning=900)) == dearer.cost(used(0, 500, reasoning=500))


def test_cache_parts_beyond_the_prompt_are_cut_to_it() -> None:
    # reads first, then 5-minute writes, then 1-hour writes, never more than the prompt
    assert WITH_CACHE.cost(used(100, 0, cached=500)) == Decimal("0.000125")
    assert WITH_CACHE.cost(used(100, 0, cached=500)) == WITH_CACHE.cost(used(100, 0, cached=100))
    assert used(100, 0, cached=60, write_5m=30, write_1h=30).parts() == (0, 60, 30, 10, 0, 0)


def test_negative_counts_count_as_none() -> None:
    assert WITH_CACHE.cost(used(100, 0, cached=-50)) == WITH_CACHE.cost(used(100, 0))
    assert WITH_CACHE.cost(used(-100, -5, cached=-50, reasoning=-3)) == 0


def test_a_long_prompt_switches_every_rate_to_its_tier() -> None:
    below = used(200_000, 1000, cached=100_000, write_5m=1000, write_1h=1000)
    above = msgspec.structs.replace(below, input_tokens=200_001)
    assert SONNET.rates_for(200_000) is SONNET
    assert SONNET.rates_for(200_001) is SONNET.tiers[0]
    assert SONNET.cost(below) == (
        98_000 * 3 + 100_000 * Decimal("0.3") + 1000 * Decimal("3.75") + 1000 * 6 + 1000 * 15
    ) / Decimal(10**6)
    assert (
        SONNET.cost(above)
        == (98_001 * 6 + 100_000 * Decimal("0.6") + 1000 * Decimal("7.5") + 1000 * 12)
        / Decimal(10**6)
        + 1000 * Decimal("22.5") / 10**6
    )
    # Gemini 2.5 Pro: 250,000 prompt tokens (50,000 cached) and 2,000 output (1,500 thoughts)
    gemini = used(250_000, 2_000, cached=50_000, reasoning=1_500)
    assert GEMINI_PRO.cost(gemini) == Decimal("0.5425")  # 0.5 + 0.0125 + 0.03


def test_the_reservation_uses_the_tier_of_the_prompt_and_the_dearest_rates() -> None:
    # 1-hour cache writes are the dearest prompt tokens, output the dearest generated ones
    assert max_request_amount(SONNET, 1000, 100).picousd == 1000 * 6_000_000 + 100 * 15_000_000
    assert max_request_amount(SONNET, 300_000, 100).picousd == (
        300_000 * 12_000_000 + 100 * 22_500_000
    )
    reasoning_dearer = replace(MINI, reasoning_output_per_mtok=Decimal(2))
    assert max_request_amount(reasoning_dearer, 10, 10).picousd == 10 * 150_000 + 10 * 2_000_000


@pytest.mark.parametrize(
    ("tiers", "key", "problem"),
    [
        (
            (PriceTier(Decimal(1), Decimal(15), above_input_tokens=10),),
            "tiers[0].input_per_mtok",
            "must not be below the rate under this tier (1 < 3)",
        ),
        (
            (PriceTier(Decimal(6), Decimal(30), above_input_tokens=10),),
            "tiers[0].cached_input_per_mtok",  # unset: the tier's input, 6, not below 0.30
            None,
        ),
        (
            (
                PriceTier(Decimal(6), Decimal(30), above_input_tokens=10),
                PriceTier(Decimal(7), Decimal(30), above_input_tokens=10),
            ),
            "tiers[1].above_input_tokens",
            "must be above the tier before it (10)",
        ),
        (
            (PriceTier(Decimal(6), Decimal(30), above_input_tokens=-1),),
            "tiers[0].above_input_tokens",
            "must not be negative",
        ),
    ],
)
def test_tiers_only_ever_raise_prices(
    tiers: tuple[PriceTier, ...], key: str, problem: str | None
) -> None:
    base = Price(Decimal(3), Decimal(15), cached_input_per_mtok=Decimal("0.30"))
    if problem is None:
        assert replace(base, tiers=tiers).tiers == tiers
        return
    with pytest.raises(PriceRuleBroken) as broken:
        replace(base, tiers=tiers)
    assert (broken.value.key, broken.value.problem) == (key, problem)


# --- properties --------------------------------------------------------------------------------

RATE = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
ODD_RATE = st.decimals(min_value=0, max_value=1000, places=9, allow_nan=False, allow_infinity=False)
COUNT = st.integers(0, 10**9)


@st.composite
def prices(draw: st.DrawFn, rate: st.SearchStrategy[Decimal] = RATE) -> Price:
    """A price with up to 3 tiers, each rate of a tier at least the one under it."""
    rates = [draw(rate) for _ in range(6)]
    set_ = [draw(st.booleans()) for _ in range(4)]  # which optional rates are set
    base = Price(
        rates[0],
        rates[4],
        rates[1] if set_[0] else None,
        rates[2] if set_[1] else None,
        rates[3] if set_[2] else None,
        rates[5] if set_[3] else None,
    )
    tiers: list[PriceTier] = []
    threshold, below = -1, base.per_kind
    for _ in range(draw(st.integers(0, 3))):
        threshold = draw(st.integers(threshold + 1, threshold + 10**6))
        up = [below[i] + draw(rate) for i in range(6)]  # per kind, in `per_kind` order
        tiers.append(
            PriceTier(up[0], up[4], up[1], up[2], up[3], up[5], above_input_tokens=threshold)
        )
        below = tiers[-1].per_kind
    return replace(base, tiers=tuple(tiers))


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """Any counts, consistent or not (the parts larger than their totals, negative...)."""
    counts = st.integers(-(10**3), 10**9)
    return used(
        draw(counts),
        draw(counts),
        cached=draw(counts),
        write_5m=draw(counts),
        write_1h=draw(counts),
        reasoning=draw(counts),
    )


def _exact(price: Price, usage: Usage) -> Fraction:
    rates = price.rates_for(usage.input_tokens)
    return (
        sum(
            (
                Fraction(count) * Fraction(rate)
                for count, rate in zip(usage.parts(), rates.per_kind, strict=True)
            ),
            Fraction(0),
        )
        / 10**6
    )


@given(prices(ODD_RATE), usages())
def test_cost_is_exact_and_never_negative(price: Price, usage: Usage) -> None:
    cost = price.cost(usage)
    assert cost >= 0
    assert Fraction(cost) == _exact(price, usage)
    assert price.picousd(usage) == to_picodollars(cost) >= 0


@given(prices(), usages())
def test_whole_picodollar_rates_cost_the_same_in_integers(price: Price, usage: Usage) -> None:
    assert price.whole_pico is not None
    assert (
        price.picousd(usage) == _exact(price, usage) * 10**12 == to_picodollars(price.cost(usage))
    )


KINDS = ("plain_input", "cached", "write_5m", "write_1h", "plain_output", "reasoning")


@given(prices(), st.lists(COUNT, min_size=6, max_size=6), st.sampled_from(KINDS), COUNT)
def test_more_tokens_of_any_kind_never_cost_less(
    price: Price, parts: list[int], kind: str, more: int
) -> None:
    def usage(counts: list[int]) -> Usage:
        plain_in, cached, write_5m, write_1h, plain_out, reasoning = counts
        return used(
            plain_in + cached + write_5m + write_1h,
            plain_out + reasoning,
            cached=cached,
            write_5m=write_5m,
            write_1h=write_1h,
            reasoning=reasoning,
        )

    bigger = list(parts)
    bigger[KINDS.index(kind)] += more
    assert price.cost(usage(bigger)) >= price.cost(usage(parts))
    assert price.picousd(usage(bigger)) >= price.picousd(usage(parts))


@given(prices(), st.data())
def test_tiers_switch_exactly_above_their_threshold(price: Price, data: st.DataObject) -> None:
    assume(price.tiers)
    tier = data.draw(st.sampled_from(price.tiers))
    at = tier.above_input_tokens
    index = price.tiers.index(tier)
    assert price.rates_for(at) is (price.tiers[index - 1] if index else price)
    assert price.rates_for(at + 1) is tier
    just_above = used(at + 1, 10)
    assert price.cost(just_above) == Fraction(at + 1) * Fraction(tier.input_per_mtok) / 10**6 + (
        Fraction(10) * Fraction(tier.output_per_mtok) / 10**6
    )


@given(prices(ODD_RATE), usages(), st.integers(0, 10**9), st.integers(0, 10**9))
def test_a_reservation_never_holds_less_than_its_call_costs(
    price: Price, usage: Usage, prompt: int, output: int
) -> None:
    # a call within what it reserved (prompt and output tokens, the prompt in the same tier)
    assume(usage.input_tokens <= prompt and usage.output_tokens <= output)
    assume(price.rates_for(usage.input_tokens) is price.rates_for(prompt))
    assert max_request_amount(price, prompt, output).picousd >= price.picousd(usage)


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
