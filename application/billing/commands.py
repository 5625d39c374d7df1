"""What can be asked of the billing context: budgets, rate limits and prices.

A command checks its own values when it is built, so a caller that builds several (a key's rate
limits and its budget) learns of any bad value before the first one is carried out. Money is
Decimal dollars, never a float: a budget to the picodollar (12 places), a price per million
tokens to 6 places (so that one token costs whole picodollars), as in the YAML configuration.
"""

from __future__ import annotations

from decimal import Decimal

from domains.billing.budget import Period, Scope
from domains.billing.events import PriceTierRates
from domains.billing.model import RATE_NAMES, Price, PriceRuleBroken, PriceTier
from domains.shared.errors import InvalidValue
from domains.shared.events import Command

BUDGET_USD_PLACES = 12
PRICE_PLACES = 6
MAX_USD = Decimal(10) ** 15  # exclusive; far above any real budget or price
MAX_COUNT = 2**53 - 1  # tokens and requests: the largest integer every JSON reader keeps exact


def decimal_places(value: Decimal) -> int:
    """Places after the point, trailing zeros aside: 0.100 → 1, 5 → 0 (exact: no rounding)."""
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    return max(0, -(int(exponent) + len(text) - len(text.rstrip("0"))))


def check_usd(name: str, value: Decimal, places: int) -> None:
    """InvalidValue unless `value` is finite, not negative, below MAX_USD and has at most
    `places` decimal places."""
    if not value.is_finite():
        raise InvalidValue(f"`{name}` must be a finite number.")
    if value < 0:
        raise InvalidValue(f"`{name}` must not be negative.")
    if value >= MAX_USD:
        raise InvalidValue(f"`{name}` must be below {MAX_USD:f}.")
    if decimal_places(value) > places:
        raise InvalidValue(f"`{name}` may have at most {places} decimal places.")


def check_count(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise InvalidValue(f"`{name}` must be between 0 and {MAX_COUNT}.")


def _check_budget_limits(max_usd: Decimal | None, max_tokens: int | None) -> None:
    if max_usd is not None:
        check_usd("max_usd", max_usd, BUDGET_USD_PLACES)
    check_count("max_tokens", max_tokens)


class SetBudget(Command, frozen=True, kw_only=True):
    """Sets the scope's budget for `period`; both limits None removes it. `org_id` is the org
    the scope belongs to: a budget above the org's cap for the period is refused."""

    scope: Scope
    scope_id: str
    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    def __post_init__(self) -> None:
        _check_budget_limits(self.max_usd, self.max_tokens)


class SetBudgetCap(Command, frozen=True, kw_only=True):
    """The operator caps the org's budget for `period`; both limits None lifts the cap."""

    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    def __post_init__(self) -> None:
        _check_budget_limits(self.max_usd, self.max_tokens)


class SetRateLimit(Command, frozen=True, kw_only=True):
    """Sets a key's or team's requests and tokens per minute; both None removes them."""

    scope: Scope
    scope_id: str
    rpm: int | None
    tpm: int | None
    actor: str

    def __post_init__(self) -> None:
        check_count("rpm", self.rpm)
        check_count("tpm", self.tpm)


class SetPrice(Command, frozen=True, kw_only=True):
    """Sets a model's price in USD per million tokens, and its long-context tiers (ascending
    thresholds, each tier's rates never below the ones under it), replacing the ones it had."""

    provider: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None
    actor: str
    cache_write_5m_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    reasoning_output_per_mtok: Decimal | None = None
    tiers: tuple[PriceTierRates, ...] = ()

    def __post_init__(self) -> None:
        _check_rates("", self)
        for index, tier in enumerate(self.tiers):
            check_count(f"tiers[{index}].above_input_tokens", tier.above_input_tokens)
            _check_rates(f"tiers[{index}].", tier)
        try:
            self.price()
        except PriceRuleBroken as broken:
            raise InvalidValue(f"{broken}.") from None

    def price(self) -> Price:
        """The price this sets."""
        return Price(
            self.input_per_mtok,
            self.output_per_mtok,
            self.cached_input_per_mtok,
            self.cache_write_5m_per_mtok,
            self.cache_write_1h_per_mtok,
            self.reasoning_output_per_mtok,
            tiers=tuple(
                PriceTier(
                    tier.input_per_mtok,
                    tier.output_per_mtok,
                    tier.cached_input_per_mtok,
                    tier.cache_write_5m_per_mtok,
                    tier.cache_write_1h_per_mtok,
                    tier.reasoning_output_per_mtok,
                    above_input_tokens=tier.above_input_tokens,
                )
                for tier in self.tiers
            ),
        )


def _rates(rates: SetPrice | PriceTierRates) -> dict[str, Decimal | None]:
    return {name: getattr(rates, name) for name in RATE_NAMES}


def _check_rates(at: str, rates: SetPrice | PriceTierRates) -> None:
    for name, rate in _rates(rates).items():
        if rate is not None:
            check_usd(at + name, rate, PRICE_PLACES)
