"""Where the budget is reserved: `Reservations.reserve` is the one call that takes a request's
rate limits and reserves the most it can cost against every budget window that applies, all or
nothing across both, in one call of the limit store (`domains.billing.limit_store`). A request
admitted alone is reserved here, and so is an allowance (`application.billing.allowances`), as
one admission of several requests.

`Reservations.settle` is the other half: it charges what was used, gives back the unused tokens
(and an allowance's unused requests), and publishes the budget thresholds the charge crossed.
Settlements run beside the request (`settle_beside` returns at once), so a client that goes away
mid-stream is still charged for what was produced and its reservation freed. A settlement that
fails is logged; the janitor (`release_expired`) frees what it held once its reservation expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from application.billing.caller_limits import CallerLimits
from application.billing.thresholds import crossings
from application.billing.window_seeding import WindowSeeding
from domains.billing.budget import Amount, Budget, Reservation, Unseeded
from domains.billing.events import BudgetThresholdCrossed
from domains.billing.limit_store import BudgetOutcome, LimitStore
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision

log = structlog.get_logger("fluxrouter.admission")

Publish = Callable[[Sequence[BudgetThresholdCrossed]], Awaitable[None]]

_SEED_ATTEMPTS = 3


class Reservations:
    def __init__(
        self,
        store: LimitStore,
        seeding: WindowSeeding,
        *,
        ttl: float,
        publish: Publish | None = None,
    ) -> None:
        self._store = store
        self._seeding = seeding
        self._ttl = ttl
        self._publish = publish
        self._beside: set[asyncio.Task[None]] = set()

    async def reserve(
        self, limits: CallerLimits, amount: Amount, now: datetime, requests: int = 1
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        """Takes `requests` requests and `amount.tokens` tokens from the caller's rate limits
        and reserves `amount` against their budget windows, or takes and holds nothing: the
        store's answer (see `LimitStore.admit`), once every window it named unseeded has been
        seeded."""
        for _ in range(_SEED_ATTEMPTS):
            asked_at = self._seeding.finished
            decision, outcome = await self._store.admit(
                limits.rates,
                amount.tokens,
                limits.budgets,
                amount,
                now=now,
                ttl=self._ttl,
                require_seed=True,
                requests=requests,
            )
            if not isinstance(outcome, Unseeded):
                return decision, outcome
            await self._seeding.seed(outcome, limits.windows, now, asked_at=asked_at)
        raise RuntimeError("budget windows could not be seeded from the database")

    async def settle(
        self,
        rates: list[RateLimit],
        windows: dict[str, Budget],
        reservation: Reservation | None,
        held: Amount,
        actual: Amount,
        unused_requests: int = 0,
    ) -> None:
        """Charges `actual` to what held `held` (one request, or an allowance) and gives back
        the tokens (and requests) it did not use; then raises the thresholds it crossed."""
        unused_tokens = max(held.tokens - actual.tokens, 0) if rates else 0
        after = await self._store.finish(
            rates, unused_tokens, reservation, actual, refund_requests=unused_requests
        )
        if after and reservation is not None and self._publish is not None:
            budgets = [windows[key] for key in reservation.keys]
            crossed = crossings(budgets, reservation.keys, after, actual)
            if crossed:
                await self._publish(crossed)

    def settle_beside(
        self,
        rates: list[RateLimit],
        windows: dict[str, Budget],
        reservation: Reservation | None,
        held: Amount,
        actual: Amount,
        unused_requests: int = 0,
    ) -> None:
        """`settle`, run beside the caller: returns at once."""
        self.run_beside(self.settle(rates, windows, reservation, held, actual, unused_requests))

    def run_beside(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._logged(work))
        self._beside.add(task)
        task.add_done_callback(self._beside.discard)

    async def _logged(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:  # the janitor frees what a failed settlement held
            log.exception("admission.settlement_failed")

    async def wait_settled(self) -> None:
        """Until every settlement started so far has run."""
        while self._beside:
            await asyncio.gather(*self._beside, return_exceptions=True)

    async def release_expired(self) -> int:
        """Frees the reservations past their expiry (a settlement that never came); how many."""
        return await self._store.release_expired()
