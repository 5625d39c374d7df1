"""A request's rate limits and budgets for the single-node embedded shape: the in-memory ledger
and rate limiter, checked and taken as one step under the ledger's lock with the Redis store's
semantics (all or nothing across both; a finish settles and refunds together, once).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domains.billing.budget import Amount, Budget, Reservation, merged_windows
from domains.billing.limit_store import BudgetOutcome
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision
from infrastructure.billing.memory_budget_ledger import InMemoryBudgetLedger
from infrastructure.billing.memory_rate_limiter import InMemoryRateLimiter


class InMemoryLimitStore:
    def __init__(
        self,
        ledger: InMemoryBudgetLedger | None = None,
        limiter: InMemoryRateLimiter | None = None,
    ) -> None:
        self.ledger = ledger or InMemoryBudgetLedger()
        self.limiter = limiter or InMemoryRateLimiter()

    async def admit(
        self,
        rates: Sequence[RateLimit],
        tokens: int,
        budgets: Sequence[Budget],
        amount: Amount,
        *,
        now: datetime,
        ttl: float = 600,
        require_seed: bool = False,
        requests: int = 1,
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        windows = merged_windows(budgets, now)
        async with self.ledger.lock:
            acquisition = self.limiter.check(rates, tokens, requests) if rates else None
            decision = None if acquisition is None else acquisition.decision
            if decision is not None and not decision.allowed:
                return decision, None
            if windows:
                blocked = self.ledger.check(windows, amount, require_seed=require_seed)
                if blocked is not None:
                    return decision, blocked
            if acquisition is not None:
                self.limiter.take(acquisition)
            return decision, self.ledger.hold(windows, amount, ttl) if windows else None

    async def finish(
        self,
        rates: Sequence[RateLimit],
        refund_tokens: int,
        reservation: Reservation | None,
        actual: Amount,
        *,
        refund_requests: int = 0,
    ) -> list[Amount]:
        if refund_tokens < 0 or refund_requests < 0:
            raise ValueError("a refund cannot be negative")
        async with self.ledger.lock:
            after: list[Amount] | None = []
            if reservation is not None and reservation.keys:
                after = self.ledger.charge(reservation, actual)
            if after is None:
                return []
            if refund_tokens or refund_requests:
                self.limiter.give_back(rates, refund_tokens, refund_requests)
            return after

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        return await self.ledger.spent(budget, now=now)

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        await self.ledger.seed(budget, spent, now=now)

    async def release_expired(self) -> int:
        return await self.ledger.release_expired()
