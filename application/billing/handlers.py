"""Billing command handlers: store the budget, rate limit or price, publish what changed, commit.

Whether the scope exists, and whether the caller may change it, is the caller's to check first:
the billing context knows scopes only by their ids.
"""

from __future__ import annotations

from application.billing.commands import SetBudget, SetPrice, SetRateLimit
from application.uow import UnitOfWork
from domains.billing.budget import Budget
from domains.billing.events import BudgetSet, PriceSet, RateLimitSet
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.shared.money import to_picodollars


async def set_budget(command: SetBudget, uow: UnitOfWork) -> Budget:
    """The budget as stored; without limits when it was removed."""
    budget = Budget(
        scope=command.scope,
        scope_id=command.scope_id,
        period=command.period,
        max_picousd=None if command.max_usd is None else to_picodollars(command.max_usd),
        max_tokens=command.max_tokens,
    )
    async with uow:
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
        await uow.commit()
    return budget


async def set_rate_limit(command: SetRateLimit, uow: UnitOfWork) -> RateLimit:
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


async def set_price(command: SetPrice, uow: UnitOfWork) -> Price:
    price = Price(
        input_per_mtok=command.input_per_mtok,
        output_per_mtok=command.output_per_mtok,
        cached_input_per_mtok=command.cached_input_per_mtok,
    )
    async with uow:
        await uow.limits.set_price(command.provider, command.model, price)
        uow.publish(
            PriceSet(
                provider=command.provider,
                model=command.model,
                input_per_mtok=command.input_per_mtok,
                output_per_mtok=command.output_per_mtok,
                cached_input_per_mtok=command.cached_input_per_mtok,
                actor=command.actor,
            )
        )
        await uow.commit()
    return price
