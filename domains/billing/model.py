"""Prices and what a call costs, in Decimal dollars and whole picodollars.

A price gives a rate (US dollars per million tokens) to each kind of token a call uses (see
`domains.shared.usage.Usage`): plain input, cache reads, 5-minute and 1-hour cache writes, plain
output and reasoning output. An unset rate is the one it stands in for. Long-context tiers: above
`above_input_tokens` prompt tokens, every rate of the call is the tier's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, Inexact, localcontext
from typing import Protocol

from domains.shared.money import to_picodollars
from domains.shared.usage import Usage

MTOK = Decimal(1_000_000)
PICO_PER_MTOK = Decimal(1_000_000)
"""USD a million tokens → picodollars a token."""

RATE_NAMES = (
    "input_per_mtok",
    "cached_input_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "output_per_mtok",
    "reasoning_output_per_mtok",
)
"""The rates in the order of `Usage.parts`."""


class PriceRuleBroken(ValueError):
    """A price whose tiers break a rule: `key` names the setting ("tiers[1].input_per_mtok"),
    `problem` says what is wrong, in lower case."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"`{key}` {problem}")
        self.key, self.problem = key, problem


@dataclass(frozen=True, slots=True)
class Rates:
    """US dollars per million tokens of each kind. Unset: cache reads and 5-minute cache writes
    cost the input rate, 1-hour cache writes the 5-minute one, reasoning the output rate."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None
    cache_write_5m_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    reasoning_output_per_mtok: Decimal | None = None
    per_kind: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    """The rate of each kind, unset ones resolved, in the order of `Usage.parts`."""
    whole_pico: tuple[int, ...] | None = field(init=False, repr=False, compare=False)
    """`per_kind` in picodollars a token when every one is a whole number (prices with at most
    6 decimals a million tokens, every price list has): a cost is then integer arithmetic."""
    dearest_pico: tuple[int, int] | None = field(init=False, repr=False, compare=False)
    """(the dearest prompt rate, the dearest output rate) of `whole_pico`: what a reservation
    holds a token, worked out once rather than on every request."""

    def __post_init__(self) -> None:
        write_5m = _or(self.cache_write_5m_per_mtok, self.input_per_mtok)
        per_kind = (
            self.input_per_mtok,
            _or(self.cached_input_per_mtok, self.input_per_mtok),
            write_5m,
            _or(self.cache_write_1h_per_mtok, write_5m),
            self.output_per_mtok,
            _or(self.reasoning_output_per_mtok, self.output_per_mtok),
        )
        object.__setattr__(self, "per_kind", per_kind)
        pico = tuple(_whole_pico_rate(rate) for rate in per_kind)
        whole = None if None in pico else tuple(rate for rate in pico if rate is not None)
        object.__setattr__(self, "whole_pico", whole)
        dearest = None if whole is None else (max(whole[:4]), max(whole[4:]))
        object.__setattr__(self, "dearest_pico", dearest)

    @property
    def dearest_input_per_mtok(self) -> Decimal:
        """What a prompt token can cost at most: plain, read from the cache or written to it."""
        return max(self.per_kind[:4])

    @property
    def dearest_output_per_mtok(self) -> Decimal:
        """What a generated token can cost at most: plain or reasoning."""
        return max(self.per_kind[4:])


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceTier(Rates):
    """The rates of every token of a call whose prompt has more than `above_input_tokens`
    tokens (cache reads and writes included)."""

    above_input_tokens: int


@dataclass(frozen=True, slots=True)
class Price(Rates):
    """A model's rates, and its long-context tiers (their thresholds ascending, their rates
    never below the ones under them: more tokens never cost less)."""

    tiers: tuple[PriceTier, ...] = ()

    def __post_init__(self) -> None:
        Rates.__post_init__(self)
        below: Rates = self
        for index, tier in enumerate(self.tiers):
            at = f"tiers[{index}]"
            if tier.above_input_tokens < 0:
                raise PriceRuleBroken(f"{at}.above_input_tokens", "must not be negative")
            if isinstance(below, PriceTier) and tier.above_input_tokens <= below.above_input_tokens:
                raise PriceRuleBroken(
                    f"{at}.above_input_tokens",
                    f"must be above the tier before it ({below.above_input_tokens})",
                )
            for name, rate, under in zip(RATE_NAMES, tier.per_kind, below.per_kind, strict=True):
                if rate < under:
                    raise PriceRuleBroken(
                        f"{at}.{name}",
                        f"must not be below the rate under this tier ({rate:f} < {under:f})",
                    )
            below = tier

    def rates_for(self, input_tokens: int) -> Rates:
        """The rates of a call with this many prompt tokens: the highest tier it is above."""
        chosen: Rates = self
        for tier in self.tiers:
            if input_tokens <= tier.above_input_tokens:
                break
            chosen = tier
        return chosen

    def cost(self, usage: Usage) -> Decimal:
        """What the call costs in US dollars, exactly."""
        rates = self.rates_for(usage.input_tokens)
        total = Decimal(0)
        for count, rate in zip(usage.parts(), rates.per_kind, strict=True):
            if count:
                total += count * rate
        return total / MTOK

    def picousd(self, usage: Usage) -> int:
        """`cost` in whole picodollars (half a picodollar rounds to even); integer arithmetic
        where the rates allow it, as they do for any price of at most 6 decimals."""
        rates = self.rates_for(usage.input_tokens) if self.tiers else self
        whole = rates.whole_pico
        if whole is None:
            return to_picodollars(self.cost(usage))
        plain_in, read, write_5m, write_1h, plain_out, reasoning = usage.parts()
        return (
            plain_in * whole[0]
            + read * whole[1]
            + write_5m * whole[2]
            + write_1h * whole[3]
            + plain_out * whole[4]
            + reasoning * whole[5]
        )

    def most_picousd(self, prompt_tokens: int, output_tokens: int) -> int:
        """The most a call with this prompt and at most this output can cost, in picodollars
        rounded up: at the rates of the tier the prompt falls in, every prompt token at the
        dearest prompt rate and every output token at the dearest output rate."""
        rates = self.rates_for(prompt_tokens) if self.tiers else self
        dearest = rates.dearest_pico
        if dearest is not None:  # the same figure as below, without Decimal
            return prompt_tokens * dearest[0] + output_tokens * dearest[1]
        with localcontext() as ctx:  # exact: fail loudly rather than round before the ceiling
            ctx.prec = 200
            ctx.traps[Inexact] = True
            per_mtok = (
                prompt_tokens * rates.dearest_input_per_mtok
                + output_tokens * rates.dearest_output_per_mtok
            )
            pico = (per_mtok * PICO_PER_MTOK).to_integral_value(ROUND_CEILING)
        return int(pico)


def _or(rate: Decimal | None, otherwise: Decimal) -> Decimal:
    return otherwise if rate is None else rate


def _whole_pico_rate(usd_per_mtok: Decimal) -> int | None:
    """The price in picodollars a token if that is a whole number, computed exactly."""
    with localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[Inexact] = True
        try:
            rate = usd_per_mtok * PICO_PER_MTOK
        except Inexact:
            return None
        if not rate.is_finite() or rate != rate.to_integral_value():
            return None
    return int(rate)


class PriceLookup(Protocol):
    def price_of(self, provider: str, model: str) -> Price | None: ...
