"""`providers`: the upstreams, their models and the models' prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from domains.billing.model import Price as BillingPrice
from domains.billing.model import PriceRuleBroken
from domains.billing.model import PriceTier as BillingTier
from infrastructure.settings.rules import (
    FINITE,
    SECONDS,
    Invalid,
    NotBlank,
    check_no_credentials,
    check_unique,
    check_url,
)

PRICE_MAX_DECIMALS = 6
WILDCARD = "*"
"""The model name that passes any model asked for as `provider/<name>` to its provider."""
ProviderName = Annotated[
    str,
    Meta(pattern=r"\A[a-z0-9][a-z0-9._-]*\Z", extra={"message": "must match [a-z0-9][a-z0-9._-]*"}),
]
Seconds = Annotated[float, Meta(gt=0, le=FINITE, extra=SECONDS)]
Upstream = Annotated[
    str, Meta(pattern=r"\S", extra={"message": "must not be empty (omit it to use the model name)"})
]


class Timeouts(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    connect: Seconds = 5.0
    first_byte: Seconds = 60.0
    total: Seconds = 600.0


_RATES = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "reasoning_output_per_mtok",
)


def _check_amounts(rates: Rates) -> None:
    # msgspec declares no bounds on a Decimal: the amounts are checked here.
    for field in _RATES:
        amount = getattr(rates, field)
        if amount is None:
            continue
        if not amount.is_finite():
            raise Invalid(field, f"must be a finite number, got {amount:f}")
        if amount < 0:
            raise Invalid(field, f"must not be negative, got {amount:f}")
        if -min(0, int(amount.normalize().as_tuple().exponent)) > PRICE_MAX_DECIMALS:
            places = f"at most {PRICE_MAX_DECIMALS} decimal places allowed, got {amount:f}"
            raise Invalid(field, places)


class Rates(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per one million tokens of each kind. Unset: cache reads and 5-minute cache writes
    cost `input_per_mtok`, 1-hour cache writes `cache_write_5m_per_mtok`, reasoning
    `output_per_mtok`."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None
    cache_write_5m_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    reasoning_output_per_mtok: Decimal | None = None

    def __post_init__(self) -> None:
        _check_amounts(self)


class PriceTier(Rates, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A long-context tier: a call whose prompt has more than `above_input_tokens` tokens
    (cache reads and writes included) is priced at these rates, every one of them."""

    above_input_tokens: Annotated[int, Meta(ge=0, le=2**53 - 1)]


class Price(Rates, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per one million tokens, and the long-context tiers (ascending thresholds; a tier's
    rates never below the ones under it)."""

    tiers: tuple[PriceTier, ...] = ()

    def __post_init__(self) -> None:
        _check_amounts(self)
        try:
            domain_price(self)
        except PriceRuleBroken as broken:
            raise Invalid(broken.key, broken.problem) from None


def domain_price(price: Price) -> BillingPrice:
    """The billing context's price for the configured one."""
    return BillingPrice(
        **{name: getattr(price, name) for name in _RATES},
        tiers=tuple(
            BillingTier(
                above_input_tokens=tier.above_input_tokens,
                **{name: getattr(tier, name) for name in _RATES},
            )
            for tier in price.tiers
        ),
    )


class ModelSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: NotBlank
    upstream: Upstream | None = None
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    price: Price | None = None

    @property
    def upstream_name(self) -> str:
        return self.upstream if self.upstream is not None else self.name


class ProviderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: ProviderName
    kind: Literal["openai", "anthropic", "gemini", "openai-compatible"]
    base_url: str
    models: list[ModelSettings]
    api_key: str | None = None
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    max_connections: Annotated[int, Meta(ge=1)] = 100
    # image URLs in requests are fetched by the gateway for kinds that need the bytes (gemini);
    # internal addresses (loopback, private networks) are refused unless this is true
    allow_internal_image_urls: bool = False
    # openai kinds: ask for the usage chunk when streaming (`stream_options.include_usage`);
    # false for servers that refuse `stream_options` (their stream usage is then estimated)
    stream_usage: bool = True

    def __post_init__(self) -> None:
        check_url("base_url", self.base_url)
        check_no_credentials("base_url", self.base_url, self.api_key)
        names = [model.name for model in self.models]
        check_unique("models[{}].name", names, "model name", " within this provider")
        for index, model in enumerate(self.models):
            if "*" in model.name and model.name != WILDCARD:
                raise Invalid(
                    f"models[{index}].name",
                    "may hold `*` only as the whole name (`*`: any model, a wildcard route)",
                )
            if model.name == WILDCARD and model.upstream is not None:
                raise Invalid(
                    f"models[{index}].upstream",
                    "must not be set on the wildcard model `*` (it passes the name asked for)",
                )
