"""Prices and what a call costs, in Decimal dollars."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, Inexact, localcontext
from typing import Protocol

MTOK = Decimal(1_000_000)
PICO_PER_MTOK = Decimal(1_000_000)
"""USD a million tokens → picodollars a token."""


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens. Cached input tokens cost the input price unless set."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None
    whole_pico_rates: tuple[int, int] | None = field(init=False, repr=False, compare=False)
    """(the dearer of the input and cached input prices, the output price) in picodollars a
    token, when both are whole numbers (prices with at most 6 decimals a million tokens, every
    price lists have): a request's largest cost is then integer arithmetic."""

    def __post_init__(self) -> None:
        input_rate = _whole_pico_rate(self.dearer_input_per_mtok)
        output_rate = _whole_pico_rate(self.output_per_mtok)
        whole = input_rate is not None and output_rate is not None
        object.__setattr__(self, "whole_pico_rates", (input_rate, output_rate) if whole else None)

    @property
    def dearer_input_per_mtok(self) -> Decimal:
        """What a prompt token can cost at most: the input price, or the cached input price
        were that ever higher."""
        if self.cached_input_per_mtok is None:
            return self.input_per_mtok
        return max(self.input_per_mtok, self.cached_input_per_mtok)

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal:
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_price = (
            self.cached_input_per_mtok
            if self.cached_input_per_mtok is not None
            else self.input_per_mtok
        )
        total = (
            (input_tokens - cached) * self.input_per_mtok
            + cached * cached_price
            + output_tokens * self.output_per_mtok
        )
        return total / MTOK


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
