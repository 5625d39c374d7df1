"""What the billing context tells the others."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from domains.billing.budget import Period, Scope
from domains.shared.events import Event


class UsageRecorded(Event, frozen=True, kw_only=True, tag=True):
    """A call's usage was written down with its cost. `priced` is False for an unpriced model.
    `input_tokens` includes the cache reads (`cached_tokens`) and writes, `output_tokens` the
    reasoning tokens (`domains.shared.usage.Usage`)."""

    usage_id: str
    source_event_id: str
    request_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    provider: str
    model: str
    endpoint: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal
    priced: bool
    status: int = 200
    outcome: str = "ok"
    stream: bool = False
    usage_reported: bool = True
    transport: str = "http"  # "websocket": asked for over the WebSocket chat protocol
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    route: str = ""
    """Why this deployment was called (the attempt's `x-fluxrouter-route`: the strategy, the
    attempts before it, the fallback taken); empty for a call the router did not route."""
    cache: str = ""
    """What the gateway's response cache did (`hit`, `miss`, `refresh`, `off`; empty in
    records older than the field). A hit costs nothing: `saved_usd` is what it would have."""
    saved_usd: Decimal = Decimal(0)


class BudgetThresholdCrossed(Event, frozen=True, kw_only=True, tag=True):
    """A budget's spend in its window crossed `percent` (50, 80 or 100) of its limit on
    `measure`; raised once per window and threshold, by the settlement that crossed it."""

    scope: Scope
    scope_id: str
    period: Period
    window: str
    measure: str  # "usd" | "tokens"
    percent: int
    spent: str  # USD as a decimal string, or tokens
    limit: str
    actor: str = "system"


class BudgetForecastExceeded(Event, frozen=True, kw_only=True, tag=True):
    """A USD budget's spend projected at its period's end (`domains.billing.forecast`) reached
    its limit; raised once per budget and window by the periodic forecast check (its id is made
    from the budget and the window: `domains.billing.forecast_alerts`)."""

    scope: Scope
    scope_id: str
    org_id: str
    period: Period
    window: str
    projected: str  # USD as a decimal string, at the period's end
    limit: str  # USD
    runs_out_on: str  # the ISO day the projected spend reaches the limit
    actor: str = "system"


class BudgetSet(Event, frozen=True, kw_only=True, tag=True):
    """A scope's budget for one period was set; both limits None: the budget was removed."""

    scope: Scope
    scope_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    @property
    def removed(self) -> bool:
        return self.max_usd is None and self.max_tokens is None


class BudgetCapSet(Event, frozen=True, kw_only=True, tag=True):
    """The operator set an org's budget cap for one period; both limits None: lifted."""

    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    @property
    def removed(self) -> bool:
        return self.max_usd is None and self.max_tokens is None


class BudgetAboveCapRefused(Event, frozen=True, kw_only=True, tag=True):
    """A budget above its org's operator-set cap (or the removal of the org's budget under a
    cap) was refused; nothing changed."""

    scope: Scope
    scope_id: str
    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str


class RateLimitSet(Event, frozen=True, kw_only=True, tag=True):
    """A key's or team's requests and tokens per minute were set; None is no limit."""

    scope: Scope
    scope_id: str
    rpm: int | None
    tpm: int | None
    actor: str


class PriceTierRates(msgspec.Struct, frozen=True, kw_only=True):
    """A long-context tier of a price: every rate of a call whose prompt has more than
    `above_input_tokens` tokens (USD per million tokens; unset ones as in `Rates`)."""

    above_input_tokens: int
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None
    cache_write_5m_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    reasoning_output_per_mtok: Decimal | None = None


class PriceSet(Event, frozen=True, kw_only=True, tag=True):
    """A model's price (USD per million tokens) was set through the admin API, replacing the
    one it had, tiers included."""

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


class RequestRefused(Event, frozen=True, kw_only=True, tag=True):
    """Requests of a key were refused by a budget, a rate limit, or for want of a price:
    `count` alike (same key, kind and limit) between `first_at` and `last_at`."""

    kind: str  # "budget" | "rate_limit" | "unpriced"
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    limit: str  # the budget window ("team:<id>:month:2026-11"), the limit ("key:<id>"), or model
    measure: str  # "usd" | "tokens" | "requests" | ""
    count: int
    first_at: datetime
    last_at: datetime


EVENTS: tuple[type[Event], ...] = (
    UsageRecorded,
    BudgetThresholdCrossed,
    BudgetForecastExceeded,
    BudgetSet,
    BudgetCapSet,
    BudgetAboveCapRefused,
    RateLimitSet,
    PriceSet,
    RequestRefused,
)
