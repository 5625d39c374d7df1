"""`providers`: the upstreams, their models and the models' prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

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


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per one million tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None

    def __post_init__(self) -> None:
        # msgspec declares no bounds on a Decimal: the amounts are checked here.
        for field in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
            amount = getattr(self, field)
            if amount is None:
                continue
            if not amount.is_finite():
                raise Invalid(field, f"must be a finite number, got {amount:f}")
            if amount < 0:
                raise Invalid(field, f"must not be negative, got {amount:f}")
            if -min(0, int(amount.normalize().as_tuple().exponent)) > PRICE_MAX_DECIMALS:
                places = f"at most {PRICE_MAX_DECIMALS} decimal places allowed, got {amount:f}"
                raise Invalid(field, places)


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
