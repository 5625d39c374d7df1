"""Model substitution advice: for a team's traffic on one model, the cheaper models of similar
quality, and what that traffic would have cost on each.

A candidate is a priced model other than the one used whose quality is at least the used
model's less `tolerance`. Its cost is the traffic's tokens of each kind (plain prompt, cache
reads, cache writes, plain output, reasoning) at the candidate's rates, long-context tiers left
out; it is advised when that is below what the traffic was charged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from domains.billing.model import MTOK, Price
from domains.shared.usage import Usage

ModelName = tuple[str, str]  # (provider, model)


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str
    quality: float
    cost: Decimal
    saving: Decimal


def repriced(price: Price, usage: Usage) -> Decimal:
    """What `usage` costs at `price`'s base rates (summed traffic: no long-context tier)."""
    total = Decimal(0)
    for count, rate in zip(usage.parts(), price.per_kind, strict=True):
        if count:
            total += count * rate
    return total / MTOK


def substitutes(
    used: ModelName,
    usage: Usage,
    charged: Decimal,
    *,
    priced: Iterable[tuple[ModelName, Price]],
    quality: Callable[[ModelName], float],
    tolerance: float,
) -> list[Candidate]:
    """The candidates cheaper than `charged`, cheapest first (ties: best quality, then name)."""
    floor = quality(used) - tolerance
    found: list[Candidate] = []
    for name, price in priced:
        if name == used:
            continue
        q = quality(name)
        if q < floor - 1e-12:
            continue
        cost = repriced(price, usage)
        if cost < charged:
            found.append(Candidate(name[0], name[1], q, cost, charged - cost))
    found.sort(key=lambda c: (c.cost, -c.quality, c.provider, c.model))
    return found
