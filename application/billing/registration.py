"""The billing context on the bus: limits and prices set, and the usage of finished calls."""

from __future__ import annotations

import functools

from application.billing import handlers
from application.billing.commands import SetBudget, SetBudgetCap, SetPrice, SetRateLimit
from application.billing.limits_cache import LimitsCache
from application.billing.subscribers import Scrub, when_completion_finished_record_usage
from application.bus import Registry
from domains.billing.events import BudgetSet, PriceSet, RateLimitSet
from domains.providers.events import CompletionFinished  # the published language of providers


def register(registry: Registry, *, limits: LimitsCache, scrub: Scrub | None = None) -> None:
    """`limits`: the limits this process holds in memory (reloaded when it changes one), which
    also price the calls."""
    registry.handle(SetBudget, handlers.set_budget)
    registry.handle(SetBudgetCap, handlers.set_budget_cap)
    registry.handle(SetRateLimit, handlers.set_rate_limit)
    registry.handle(SetPrice, handlers.set_price)
    registry.subscribe(
        (CompletionFinished,),
        functools.partial(when_completion_finished_record_usage, prices=limits, scrub=scrub),
        rows_only=True,
    )
    registry.subscribe((BudgetSet, RateLimitSet, PriceSet), limits.when_limits_changed_reload)
