"""Admin API bodies and answers for budgets, rate limits, spend and prices.

Bodies refuse unknown fields, so a body can only set what its call is about. Money comes in as
a decimal string or a JSON number, read exactly (never through a float), and goes out as a
decimal string.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

PeriodName = Literal["day", "month", "total"]
PriceSource = Literal["config", "admin"]

Usd = Annotated[
    Decimal,
    Meta(description='US dollars: a decimal string ("0.1") or a JSON number, read exactly'),
]
Count = Annotated[int, Meta(ge=0, le=2**53 - 1)]  # exact in every JSON reader


class BudgetBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One period's budget; without `max_usd` and `max_tokens` the period's budget is removed."""

    period: PeriodName
    max_usd: Usd | None = None
    max_tokens: Count | None = None


class KeyLimitsBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Naming `rpm` or `tpm` replaces the key's rate limits (the one left out: no limit); naming
    `max_usd` or `max_tokens` replaces its budget for `period` (both null: removed). What the
    body does not name is left as it is."""

    rpm: Count | UnsetType | None = UNSET
    tpm: Count | UnsetType | None = UNSET
    max_usd: Usd | UnsetType | None = UNSET
    max_tokens: Count | UnsetType | None = UNSET
    period: PeriodName = "month"


class TeamLimitsBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Naming `rpm` or `tpm` replaces the team's rate limits (the one left out: no limit)."""

    rpm: Count | UnsetType | None = UNSET
    tpm: Count | UnsetType | None = UNSET


class PriceTierBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A long-context tier: a call whose prompt has more than `above_input_tokens` tokens (cache
    reads and writes included) is priced at these rates, every one of them; unset rates stand in
    as in the price itself, from this tier's input and output rates."""

    above_input_tokens: Count
    input_per_mtok: Usd
    output_per_mtok: Usd
    cached_input_per_mtok: Usd | None = None
    cache_write_5m_per_mtok: Usd | None = None
    cache_write_1h_per_mtok: Usd | None = None
    reasoning_output_per_mtok: Usd | None = None


MAX_PRICE_TIERS = 16


class PriceBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """US dollars per million tokens of each kind. Unset: cache reads (`cached_input_per_mtok`)
    and 5-minute cache writes cost the input price, 1-hour cache writes the 5-minute one,
    reasoning output the output price. `tiers`: long-context tiers, thresholds ascending, each
    tier's rates never below the ones under it; the price replaces the model's, tiers included.
    """

    input_per_mtok: Usd
    output_per_mtok: Usd
    cached_input_per_mtok: Usd | None = None
    cache_write_5m_per_mtok: Usd | None = None
    cache_write_1h_per_mtok: Usd | None = None
    reasoning_output_per_mtok: Usd | None = None
    tiers: Annotated[list[PriceTierBody], Meta(max_length=MAX_PRICE_TIERS)] = []


class BudgetOut(msgspec.Struct, kw_only=True):
    scope: str
    id: str
    period: str
    max_usd: str | None
    max_tokens: int | None


class BudgetCapOut(msgspec.Struct, kw_only=True):
    """The operator's cap on an org's budget for one period; both limits null: no cap."""

    org_id: str
    period: str
    max_usd: str | None
    max_tokens: int | None


class LimitsOut(msgspec.Struct, kw_only=True):
    scope: str
    id: str
    rpm: int | None
    tpm: int | None
    budgets: list[BudgetOut]


class PeriodSpendOut(msgspec.Struct, kw_only=True):
    period: str
    window: str
    max_usd: str | None
    max_tokens: int | None
    spent_usd: str
    spent_tokens: int
    reserved_usd: str
    reserved_tokens: int
    remaining_usd: str | None
    remaining_tokens: int | None


class SpendOut(msgspec.Struct, kw_only=True):
    scope: str
    id: str
    rpm: int | None
    tpm: int | None
    periods: list[PeriodSpendOut]


class PriceTierOut(msgspec.Struct, kw_only=True):
    above_input_tokens: int
    input_per_mtok: str
    output_per_mtok: str
    cached_input_per_mtok: str | None
    cache_write_5m_per_mtok: str | None
    cache_write_1h_per_mtok: str | None
    reasoning_output_per_mtok: str | None


class PriceOut(msgspec.Struct, kw_only=True):
    """A model's price as set (null: unset, standing in as the body's docs say; every rate null
    and `source` null: the model is not priced)."""

    provider: str
    model: str
    input_per_mtok: str | None
    output_per_mtok: str | None
    cached_input_per_mtok: str | None
    cache_write_5m_per_mtok: str | None
    cache_write_1h_per_mtok: str | None
    reasoning_output_per_mtok: str | None
    tiers: list[PriceTierOut]
    source: PriceSource | None
