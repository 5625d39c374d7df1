"""What a budget window has spent that the database does not hold yet: the finished calls this
process has not written (a database that is down, or the calls a dead process left in its spool,
replayed but not written yet). Re-seeding a budget window (a Redis that lost it) adds them to the
database's figure, so a re-seed never counts less than was served."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from application.billing.subscribers import CACHE_HITS, used
from domains.billing.budget import Amount, Budget, window
from domains.billing.model import PriceLookup
from domains.providers.events import CompletionFinished  # the published language of providers


def unwritten_spend(
    calls: Iterable[CompletionFinished], budget: Budget, now: datetime, prices: PriceLookup
) -> Amount:
    """The cost and tokens (input + output) of the calls in the budget's scope and in the window
    `now` falls in, priced as billing will price them."""
    current = window(budget.period, now)
    picousd = tokens = 0
    for call in calls:
        if _scope_id(call, budget) != budget.scope_id or call.cache in CACHE_HITS:
            continue  # (a hit spends nothing)
        if window(budget.period, call.occurred_at) != current:
            continue
        input_tokens, output_tokens = max(call.input_tokens, 0), max(call.output_tokens, 0)
        tokens += input_tokens + output_tokens
        price = prices.price_of(call.provider, call.model)
        if price is not None:
            picousd += price.picousd(used(call))
    return Amount(picousd, tokens)


def _scope_id(call: CompletionFinished, budget: Budget) -> str | None:
    if budget.scope == "org":
        return call.org_id
    if budget.scope == "team":
        return call.team_id
    if budget.scope == "user":
        return call.user_id
    return call.key_id
