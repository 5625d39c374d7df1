"""Prices and what a call costs, in Decimal dollars."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens. Cached input tokens cost the input price unless set."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None

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


class PriceLookup(Protocol):
    def price_of(self, provider: str, model: str) -> Price | None: ...
