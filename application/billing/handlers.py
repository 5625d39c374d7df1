"""Billing command handlers: store the budget, rate limit or price, publish what changed, commit.

Whether the scope exists, and whether the caller may change it, is the caller's to check first:
the billing context knows scopes only by their ids.
"""

from __future__ import annotations

from decimal import Decimal

from application.billing.commands import SetBudget, SetBudgetCap, SetPrice, SetRateLimit
from application.billing.uow import BillingUnitOfWork
from domains.billing.budget import Budget
from domains.billing.budget_cap import BudgetCap, CapRefusal
from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetCapSet,
    BudgetSet,
    PriceSet,
    RateLimitSet,
)
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.shared.money import from_picodollars, to_picodollars


async def set_budget(command: SetBudget, uow: BillingUnitOfWork) -> Budget | CapRefusal:
    """The budget as stored; without limits when it was removed. A CapRefusal when the org's
    cap for the period does not allow it: nothing changes then but the audit log (a refusal is
    answered, not raised, so that its event is published like any other)."""
    budget = Budget(
        scope=command.scope,
        scope_id=command.scope_id,
        period=command.period,
        max_picousd=None if command.max_usd is None else to_picodollars(command.max_usd),
        max_tokens=command.max_tokens,
    )
    async with uow:
        cap = await uow.limits.budget_cap_of(command.org_id, command.period)
        refusal = None if cap is None else cap.refusal(budget)
        if refusal is None:
            await uow.limits.set_budget(budget)
            uow.publish(
                BudgetSet(
                    scope=command.scope,
                    scope_id=command.scope_id,
                    period=command.period,
                    max_usd=command.max_usd,
                    max_tokens=command.max_tokens,
                    actor=command.actor,
                )
            )
        else:
            uow.publish(
                BudgetAboveCapRefused(
                    scope=command.scope,
                    scope_id=command.scope_id,
                    org_id=command.org_id,
                    period=command.period,
                    max_usd=command.max_usd,
                    max_tokens=command.max_tokens,
                    actor=command.actor,
                )
            )
        await uow.commit()
    return budget if refusal is None else CapRefusal(refusal)


async def set_budget_cap(command: SetBudgetCap, uow: BillingUnitOfWork) -> BudgetCap | None:
    """The cap as stored; None when it was lifted. Setting a cap brings the org's budget for the
    period within it (a budget of its own, and a `budget.set` row, when it had none or a higher
    one): spending stops at the cap from then on."""
    cap: BudgetCap | None = None
    if command.max_usd is not None or command.max_tokens is not None:
        cap = BudgetCap(
            org_id=command.org_id,
            period=command.period,
            max_picousd=None if command.max_usd is None else to_picodollars(command.max_usd),
            max_tokens=command.max_tokens,
        )
    async with uow:
        if cap is None:
            await uow.limits.remove_budget_cap(command.org_id, command.period)
        else:
            await uow.limits.set_budget_cap(cap)
            budgets = await uow.limits.budgets_of("org", command.org_id)
            current = next((b for b in budgets if b.period == command.period), None)
            clamped = cap.clamp(current)
            if clamped != current:
                await uow.limits.set_budget(clamped)
                uow.publish(
                    BudgetSet(
                        scope="org",
                        scope_id=command.org_id,
                        period=command.period,
                        max_usd=_usd(clamped.max_picousd),
                        max_tokens=clamped.max_tokens,
                        actor=command.actor,
                    )
                )
        uow.publish(
            BudgetCapSet(
                org_id=command.org_id,
                period=command.period,
                max_usd=command.max_usd,
                max_tokens=command.max_tokens,
                actor=command.actor,
            )
        )
        await uow.commit()
    return cap


def _usd(picousd: int | None) -> Decimal | None:
    return None if picousd is None else from_picodollars(picousd)


async def set_rate_limit(command: SetRateLimit, uow: BillingUnitOfWork) -> RateLimit:
    limit = RateLimit(
        scope=command.scope, scope_id=command.scope_id, rpm=command.rpm, tpm=command.tpm
    )
    async with uow:
        await uow.limits.set_rate_limit(limit)
        uow.publish(
            RateLimitSet(
                scope=command.scope,
                scope_id=command.scope_id,
                rpm=command.rpm,
                tpm=command.tpm,
                actor=command.actor,
            )
        )
        await uow.commit()
    return limit


async def set_price(command: SetPrice, uow: BillingUnitOfWork) -> Price:
    price = command.price()
    async with uow:
        await uow.limits.set_price(command.provider, command.model, price)
        uow.publish(
            PriceSet(
                provider=command.provider,
                model=command.model,
                input_per_mtok=command.input_per_mtok,
                output_per_mtok=command.output_per_mtok,
                cached_input_per_mtok=command.cached_input_per_mtok,
                cache_write_5m_per_mtok=command.cache_write_5m_per_mtok,
                cache_write_1h_per_mtok=command.cache_write_1h_per_mtok,
                reasoning_output_per_mtok=command.reasoning_output_per_mtok,
                tiers=command.tiers,
                actor=command.actor,
            )
        )
        await uow.commit()
    return price
