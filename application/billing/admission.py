"""Admission, the billing context's answer to the gateway's `Admission` port: may this caller
spend on this model now? `BudgetAdmission.admit` looks up the caller's limits, refuses an
unpriced model under a US-dollar budget, and reserves the most the call can cost; the ticket it
returns settles it to what the upstream reported. A caller without limits costs nothing at all.

The budget is reserved in `application.billing.reservations` (`Reservations.reserve`): for this
call alone, or, with `allowances` (a shared store, in Redis), for an allowance of several calls
(`application.billing.allowances`) that most calls are then admitted from in memory. Windows the
store has never seen are first seeded from the database (`application.billing.window_seeding`);
what a refused caller is told is in `application.billing.refusals`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import structlog

from application.billing.allowances import Allowances
from application.billing.caller_limits import LimitsLookup
from application.billing.rate_headers import ratelimit_headers
from application.billing.refusals import (
    budget_refusal,
    note_refusal,
    rate_refusal,
    unpriced_refusal,
)
from application.billing.reservations import Publish, Reservations
from application.billing.tickets import FREE, AllowedTicket, BillingTicket, ReservedTicket
from application.billing.window_seeding import SpentInWindow, WindowSeeding
from application.shared.coalescer import Coalescer
from application.shared.tasks import cancel_and_wait
from domains.billing.budget import Refusal, Reservation, max_request_amount
from domains.billing.limit_store import LimitStore
from domains.billing.limits import LimitsSnapshot
from domains.shared.caller import Caller

__all__ = ["FREE", "BudgetAdmission", "Publish", "SpentInWindow", "UnpricedPolicy"]

log = structlog.get_logger("fluxrouter.admission")

UnpricedPolicy = Literal["refuse", "tokens_only"]


class BudgetAdmission:
    def __init__(
        self,
        *,
        limits: Callable[[], LimitsSnapshot],
        store: LimitStore,
        spent_in_window: SpentInWindow,
        unpriced: UnpricedPolicy = "refuse",
        publish: Publish | None = None,
        refusals: Coalescer | None = None,
        reservation_ttl: float = 900.0,
        janitor_every: float = 10.0,
        allowances: bool = False,
        allowance_age: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._unpriced = unpriced
        self._refusals = refusals
        self._janitor_every = janitor_every
        self._clock = clock
        self._reservations = Reservations(
            store, WindowSeeding(store, spent_in_window), ttl=reservation_ttl, publish=publish
        )
        self._allowances = (
            Allowances(self._reservations, max_age=allowance_age, monotonic=monotonic)
            if allowances
            else None
        )
        self._lookup = LimitsLookup(
            self._allowances.forget_sizes if self._allowances is not None else None
        )
        self._janitor: asyncio.Task[None] | None = None

    async def admit(
        self,
        caller: Caller,
        provider: str,
        model: str,
        estimate: Callable[[], tuple[int, int]],
    ) -> BillingTicket:
        snapshot = self._limits()
        now = self._clock()
        limits = self._lookup.of(caller, snapshot, now)
        if limits is None:
            return FREE
        price = snapshot.price_of(provider, model)
        if price is None and limits.usd_limited and self._unpriced == "refuse":
            note_refusal(self._refusals, caller, "unpriced", f"model:{provider}/{model}", "usd")
            raise unpriced_refusal(model)
        reserved = estimate()
        amount = max_request_amount(price, *reserved)
        allowances = self._allowances
        if allowances is not None:
            allowance = allowances.take(limits, amount, now)
            if allowance is None:
                allowance = await allowances.take_next(limits, amount, now)
            if allowance is not None:
                shown = allowance.shown()
                shown_headers = ratelimit_headers(shown) if shown is not None else {}
                return AllowedTicket(allowances, allowance, price, amount, shown_headers, reserved)
        decision, outcome = await self._reservations.reserve(limits, amount, now)
        headers: dict[str, str] = {}
        if decision is not None:
            headers = ratelimit_headers(decision)
            if not decision.allowed:
                limit = decision.refused_by or f"key:{caller.key_id}"
                note_refusal(self._refusals, caller, "rate_limit", limit, decision.measure or "")
                raise rate_refusal(
                    decision.refused_by, decision.measure, decision.too_large, headers
                )
        if isinstance(outcome, Refusal):
            note_refusal(self._refusals, caller, "budget", outcome.budget_key, outcome.limit)
            raise budget_refusal(outcome, limits.windows[outcome.budget_key], amount, now)
        reservation = outcome if isinstance(outcome, Reservation) else None
        return ReservedTicket(
            self._reservations,
            price,
            amount,
            limits.rates,
            limits.windows,
            reservation,
            headers,
            reserved,
        )

    def start(self) -> None:
        if self._allowances is not None:
            self._allowances.start()
        if self._janitor is None:
            self._janitor = asyncio.create_task(self._sweep(), name="budget-janitor")

    async def stop(self) -> None:
        """Every settlement run, every allowance settled."""
        await cancel_and_wait(self._janitor)
        self._janitor = None
        if self._allowances is not None:
            await self._allowances.stop()
        await self._reservations.wait_settled()

    async def wait_settled(self) -> None:
        """Until every settlement started so far has run."""
        await self._reservations.wait_settled()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._janitor_every)
            try:
                released = await self._reservations.release_expired()
            except Exception:
                log.exception("budget.janitor_failed")
                continue
            if released:
                log.warning("budget.reservations_expired", released=released)
            if self._allowances is not None:
                self._allowances.forget_refusals()
