"""How the billing context's events read as audit rows: usage with its cost, budgets, caps,
rate limits, prices and refusals."""

from __future__ import annotations

from decimal import Decimal

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetCapSet,
    BudgetForecastExceeded,
    BudgetSet,
    BudgetThresholdCrossed,
    PriceSet,
    PriceTierRates,
    RateLimitSet,
    RequestRefused,
    UsageRecorded,
)
from domains.shared.money import usd_text

CACHE_HITS = frozenset(("hit", "semantic_hit"))
"""A call answered from the response cache (exact or semantic): a `chat.cache_hit` row."""


def usage_recorded(event: UsageRecorded) -> AuditFacts:
    """The call's audit row: who, which model, tokens, cost, and how it was routed (each attempt
    of a request has its own row, its `route` saying which attempt it was) — never a prompt or
    an answer."""
    return AuditFacts(
        actor=f"key:{event.key_id}",
        action="chat.cache_hit"
        if event.cache in CACHE_HITS
        else "chat.completion"
        if event.endpoint == "chat"
        else "embeddings.create",
        target=f"model:{event.provider}/{event.model}",
        data={
            "request_id": event.request_id,
            "team_id": event.team_id,
            "org_id": event.org_id,
            "user_id": event.user_id,
            "status": event.status,
            "outcome": event.outcome,
            "stream": event.stream,
            "transport": event.transport,
            "input_tokens": event.input_tokens,
            "output_tokens": event.output_tokens,
            "cached_tokens": event.cached_tokens,
            **_other_tokens(event),
            "usage_reported": event.usage_reported,
            "cost_usd": usd_text(event.cost_usd),
            "priced": event.priced,
            **({"route": event.route} if event.route else {}),
            **({"cache": event.cache} if event.cache else {}),
            **({"saved_usd": usd_text(event.saved_usd)} if event.cache in CACHE_HITS else {}),
        },
    )


def _other_tokens(event: UsageRecorded) -> dict[str, int]:
    """The cache writes and reasoning tokens, those the call used: a call that used none reads
    as the row it always has."""
    counts = {
        "cache_write_5m_tokens": event.cache_write_5m_tokens,
        "cache_write_1h_tokens": event.cache_write_1h_tokens,
        "reasoning_tokens": event.reasoning_tokens,
    }
    return {name: count for name, count in counts.items() if count}


def budget_forecast_exceeded(event: BudgetForecastExceeded) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="budget.forecast",
        target=f"{event.scope}:{event.scope_id}",
        data={
            "org_id": event.org_id,
            "period": event.period,
            "window": event.window,
            "projected": event.projected,
            "limit": event.limit,
            "runs_out_on": event.runs_out_on,
        },
    )


def budget_threshold_crossed(event: BudgetThresholdCrossed) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="budget.threshold",
        target=f"{event.scope}:{event.scope_id}",
        data={
            "period": event.period,
            "window": event.window,
            "measure": event.measure,
            "percent": event.percent,
            "spent": event.spent,
            "limit": event.limit,
        },
    )


def _limits_data(period: str, max_usd: Decimal | None, max_tokens: int | None) -> dict[str, object]:
    """A budget's or a cap's limits as its audit row records them."""
    return {
        "period": period,
        "max_usd": None if max_usd is None else usd_text(max_usd),
        "max_tokens": max_tokens,
    }


def budget_set(event: BudgetSet) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="budget.remove" if event.removed else "budget.set",
        target=f"{event.scope}:{event.scope_id}",
        data=_limits_data(event.period, event.max_usd, event.max_tokens),
    )


def budget_cap_set(event: BudgetCapSet) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="budget_cap.remove" if event.removed else "budget_cap.set",
        target=f"org:{event.org_id}",
        data=_limits_data(event.period, event.max_usd, event.max_tokens),
    )


def budget_above_cap_refused(event: BudgetAboveCapRefused) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="budget.cap_refused",
        target=f"{event.scope}:{event.scope_id}",
        data={
            "org_id": event.org_id,
            "period": event.period,
            "max_usd": None if event.max_usd is None else usd_text(event.max_usd),
            "max_tokens": event.max_tokens,
        },
    )


def rate_limit_set(event: RateLimitSet) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="rate_limit.set",
        target=f"{event.scope}:{event.scope_id}",
        data={"rpm": event.rpm, "tpm": event.tpm},
    )


def price_set(event: PriceSet) -> AuditFacts:
    data = _rates_data(event)
    if event.tiers:
        data["tiers"] = [
            {"above_input_tokens": tier.above_input_tokens, **_rates_data(tier)}
            for tier in event.tiers
        ]
    return AuditFacts(
        actor=event.actor,
        action="price.set",
        target=f"model:{event.provider}/{event.model}",
        data=data,
    )


def _rates_data(rates: PriceSet | PriceTierRates) -> dict[str, object]:
    """A price's rates as its audit row records them: the cache write and reasoning rates only
    when set, so a price that sets none reads as the row it always has."""
    cached = rates.cached_input_per_mtok
    data: dict[str, object] = {
        "input_per_mtok": usd_text(rates.input_per_mtok),
        "output_per_mtok": usd_text(rates.output_per_mtok),
        "cached_input_per_mtok": None if cached is None else usd_text(cached),
    }
    for name, rate in (
        ("cache_write_5m_per_mtok", rates.cache_write_5m_per_mtok),
        ("cache_write_1h_per_mtok", rates.cache_write_1h_per_mtok),
        ("reasoning_output_per_mtok", rates.reasoning_output_per_mtok),
    ):
        if rate is not None:
            data[name] = usd_text(rate)
    return data


def request_refused(event: RequestRefused) -> AuditFacts:
    return AuditFacts(
        actor=f"key:{event.key_id}",
        action={"budget": "budget.refused", "rate_limit": "rate_limit.refused"}.get(
            event.kind, "model.unpriced_refused"
        ),
        target=event.limit,
        data={
            "team_id": event.team_id,
            "org_id": event.org_id,
            "user_id": event.user_id,
            "measure": event.measure,
            "count": event.count,
            "first_at": event.first_at.isoformat(),
            "last_at": event.last_at.isoformat(),
        },
    )


ENTRIES: tuple[Entry, ...] = (
    formats(UsageRecorded, usage_recorded),
    formats(BudgetThresholdCrossed, budget_threshold_crossed),
    formats(BudgetForecastExceeded, budget_forecast_exceeded),
    formats(BudgetSet, budget_set),
    formats(BudgetCapSet, budget_cap_set),
    formats(BudgetAboveCapRefused, budget_above_cap_refused),
    formats(RateLimitSet, rate_limit_set),
    formats(PriceSet, price_set),
    formats(RequestRefused, request_refused),
)
