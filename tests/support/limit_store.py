"""A limit store's rate limits and budgets one at a time: an admission or a finish that names no
budget is the rate limits' alone (`acquire`, `refund`), one that names no rate limit the
budget windows' alone (`reserve`, `settle`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from domains.billing.budget import ZERO, Amount, Budget, Reservation
from domains.billing.limit_store import BudgetOutcome, LimitStore
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision

_ANY_TIME = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # no budget: no window to fall in


async def acquire(store: LimitStore, limits: Sequence[RateLimit], tokens: int) -> RateDecision:
    """Takes a request and `tokens` tokens from every bucket of the limits (at least one), or
    nothing."""
    decision, outcome = await store.admit(limits, tokens, [], ZERO, now=_ANY_TIME)
    assert decision is not None
    assert outcome is None
    return decision


async def refund(store: LimitStore, limits: Sequence[RateLimit], tokens: int) -> None:
    """Gives `tokens` back to the limits' token buckets."""
    assert await store.finish(limits, tokens, None, ZERO) == []


async def reserve(
    store: LimitStore,
    budgets: Sequence[Budget],
    amount: Amount,
    *,
    now: datetime,
    ttl: float = 600,
    require_seed: bool = False,
) -> BudgetOutcome | None:
    """Holds `amount` against every budget's window, or nothing; None when no budget is given."""
    decision, outcome = await store.admit(
        [], 0, budgets, amount, now=now, ttl=ttl, require_seed=require_seed
    )
    assert decision is None
    return outcome


async def settle(store: LimitStore, reservation: Reservation, actual: Amount) -> list[Amount]:
    """Charges `actual` and frees the reservation: each window's spend after, empty when it
    was settled already."""
    return await store.finish([], 0, reservation, actual)
