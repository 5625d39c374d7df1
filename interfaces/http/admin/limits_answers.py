"""The answers of the limits, spend and price calls, built from what the billing context holds."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.commands import SetBudget
from application.billing.price_queries import ListedPrice
from application.bus import MessageBus
from domains.billing.budget import Amount, Budget, Period, Scope
from domains.billing.budget_cap import BudgetCap, CapRefusal
from domains.billing.model import PriceTier
from domains.shared.money import from_picodollars, usd_text
from infrastructure.queries.limits import limits_of
from interfaces.http.admin.limits_schemas import (
    BudgetCapOut,
    BudgetOut,
    LimitsOut,
    PeriodSpendOut,
    PriceOut,
    PriceTierOut,
)


async def apply_budget(bus: MessageBus, command: SetBudget) -> Budget:
    """Sets the budget; the RFC 9457 403 `budget_cap_exceeded` (the refusal audited) when the
    org's operator-set cap does not allow it."""
    result: Budget | CapRefusal = await bus.handle(command)
    if isinstance(result, CapRefusal):
        raise result.error()
    return result


def usd(picousd: int | None) -> str | None:
    return None if picousd is None else usd_text(from_picodollars(picousd))


def budget_out(budget: Budget) -> BudgetOut:
    return BudgetOut(
        scope=budget.scope,
        id=budget.scope_id,
        period=budget.period,
        max_usd=usd(budget.max_picousd),
        max_tokens=budget.max_tokens,
    )


def cap_out(org_id: str, period: Period, cap: BudgetCap | None) -> BudgetCapOut:
    return BudgetCapOut(
        org_id=org_id,
        period=period,
        max_usd=None if cap is None else usd(cap.max_picousd),
        max_tokens=None if cap is None else cap.max_tokens,
    )


async def limits_out(engine: AsyncEngine, scope: Scope, scope_id: str) -> LimitsOut:
    budgets, limit = await limits_of(engine, scope, scope_id)
    return LimitsOut(
        scope=scope,
        id=scope_id,
        rpm=None if limit is None else limit.rpm,
        tpm=None if limit is None else limit.tpm,
        budgets=[budget_out(budget) for budget in budgets],
    )


def period_out(
    period: Period, window_id: str, budget: Budget | None, spent: Amount, reserved: Amount
) -> PeriodSpendOut:
    max_usd = None if budget is None else budget.max_picousd
    max_tokens = None if budget is None else budget.max_tokens
    used = spent + reserved
    return PeriodSpendOut(
        period=period,
        window=window_id,
        max_usd=usd(max_usd),
        max_tokens=max_tokens,
        spent_usd=usd_text(from_picodollars(spent.picousd)),
        spent_tokens=spent.tokens,
        reserved_usd=usd_text(from_picodollars(reserved.picousd)),
        reserved_tokens=reserved.tokens,
        remaining_usd=None if max_usd is None else usd(max(max_usd - used.picousd, 0)),
        remaining_tokens=None if max_tokens is None else max(max_tokens - used.tokens, 0),
    )


def price_out(listed: ListedPrice) -> PriceOut:
    price = listed.price
    return PriceOut(
        provider=listed.provider,
        model=listed.model,
        input_per_mtok=None if price is None else usd_text(price.input_per_mtok),
        output_per_mtok=None if price is None else usd_text(price.output_per_mtok),
        cached_input_per_mtok=None if price is None else _usd(price.cached_input_per_mtok),
        cache_write_5m_per_mtok=None if price is None else _usd(price.cache_write_5m_per_mtok),
        cache_write_1h_per_mtok=None if price is None else _usd(price.cache_write_1h_per_mtok),
        reasoning_output_per_mtok=None if price is None else _usd(price.reasoning_output_per_mtok),
        tiers=[] if price is None else [_tier_out(tier) for tier in price.tiers],
        source=listed.source,
    )


def _tier_out(tier: PriceTier) -> PriceTierOut:
    return PriceTierOut(
        above_input_tokens=tier.above_input_tokens,
        input_per_mtok=usd_text(tier.input_per_mtok),
        output_per_mtok=usd_text(tier.output_per_mtok),
        cached_input_per_mtok=_usd(tier.cached_input_per_mtok),
        cache_write_5m_per_mtok=_usd(tier.cache_write_5m_per_mtok),
        cache_write_1h_per_mtok=_usd(tier.cache_write_1h_per_mtok),
        reasoning_output_per_mtok=_usd(tier.reasoning_output_per_mtok),
    )


def _usd(rate: Decimal | None) -> str | None:
    return None if rate is None else usd_text(rate)
