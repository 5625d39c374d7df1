"""This process's allowances: with a shared limit store (Redis), a caller's requests are admitted
from an `Allowance` (`domains.billing.allowance`) this process reserved for several of them at
once (`Reservations.reserve`), so most requests make no round trip, and many settle as one.

`take` admits a request from the caller's current allowance, in memory; `take_next`, when that
cannot, takes a new allowance (or waits for the one being taken) and admits from it. Neither
admits a request the limits are too small or too nearly spent to give an allowance for: that
request is reserved alone. Once an allowance is half used the next one is taken beside, before a
request has to wait; an allowance admits for `max_age` seconds at most, and is settled
(`Reservations.settle`) once its last request has.

The allowances are keyed by `CallerLimits.signature`: one per key and its exact limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from datetime import datetime

import structlog

from application.billing.caller_limits import CallerLimits
from application.billing.reservations import Reservations
from domains.billing.allowance import (
    FIRST_REQUESTS,
    QUICK,
    Allowance,
    allowance_size,
    grown,
    shrunk,
)
from domains.billing.budget import Amount, Reservation
from domains.billing.limit_store import admitted

log = structlog.get_logger("fluxrouter.admission")


class Allowances:
    def __init__(
        self,
        reservations: Reservations,
        *,
        max_age: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reservations = reservations
        self._max_age = max_age
        self._monotonic = monotonic
        self._current: dict[Hashable, Allowance] = {}  # the one each caller is admitted from
        self._following: dict[Hashable, Allowance] = {}  # taken beside, to admit from next
        self._taking: dict[Hashable, asyncio.Future[None]] = {}  # being taken now
        self._renewing: set[Hashable] = set()  # the next one is being taken beside
        self._refused_until: dict[Hashable, float] = {}  # refused one, until when (monotonic)
        self._wanted: dict[Hashable, int] = {}  # the next one's requests, where not FIRST_REQUESTS
        self._stopping = False

    def take(self, limits: CallerLimits, amount: Amount, now: datetime) -> Allowance | None:
        """Admits a request of largest cost `amount` from the caller's current allowance, at
        once; None when it has none, or the one it has cannot cover it (then retired)."""
        signature = limits.signature
        current = self._current.get(signature)
        if current is None:
            return None
        if current.take(amount):
            self._renew_when_half_used(limits, current, amount, now)
            return current
        self._retire(signature, current)
        return None

    async def take_next(
        self, limits: CallerLimits, amount: Amount, now: datetime
    ) -> Allowance | None:
        """Admits the request from the next allowance: the one taken beside, else a new one (or
        the one being taken). None when the request is to be reserved alone: no allowance fits
        the limits, or the new one could not cover it either."""
        signature = limits.signature
        current = self._promote(signature)
        if current is None:
            if signature in self._taking or self._refused_until.get(signature, 0.0) <= (
                self._monotonic()
            ):
                await self._new_allowance(limits, amount, now)
            current = self._promote(signature)
        if current is not None and current.take(amount):
            return current
        return None

    def settle(self, allowance: Allowance, holding: Amount, actual: Amount) -> None:
        """A request admitted from `allowance`, which held `holding`, used `actual`: charged
        to the allowance at once."""
        allowance.settle(holding, actual)
        self._settle_if_done(allowance)

    def forget_sizes(self) -> None:
        """Every caller's next allowance takes `FIRST_REQUESTS` again (the limits changed)."""
        self._wanted.clear()

    def forget_refusals(self) -> None:
        """Forgets the refusals whose time is over."""
        now = self._monotonic()
        self._refused_until = {
            key: until for key, until in self._refused_until.items() if until > now
        }

    def start(self) -> None:
        self._stopping = False

    async def stop(self) -> None:
        """No allowance is taken beside from now on; once those being taken are, every
        allowance is retired, and settled when its last request has."""
        self._stopping = True
        await self._reservations.wait_settled()
        for held in (self._current, self._following):
            for signature, allowance in list(held.items()):
                self._retire(signature, allowance)

    def _promote(self, signature: Hashable) -> Allowance | None:
        """The allowance to admit from: the current one, else the next one taken beside."""
        current = self._current.get(signature)
        if current is None:
            following = self._following.pop(signature, None)
            if following is not None and not following.closed:
                current = self._current[signature] = following
        return current

    def _renew_when_half_used(
        self, limits: CallerLimits, current: Allowance, amount: Amount, now: datetime
    ) -> None:
        """Once half used, the next allowance is taken beside, before a request must wait;
        twice as large if this one was half used quickly."""
        signature = limits.signature
        if current.admitted * 2 < current.requests or signature in self._renewing:
            return
        if signature in self._following or signature in self._taking or self._stopping:
            return
        if self._monotonic() - current.taken_at < self._max_age / QUICK:
            self._wanted[signature] = grown(self._wanted_by(signature))
        self._renewing.add(signature)
        self._reservations.run_beside(self._renew(limits, amount, now))

    async def _renew(self, limits: CallerLimits, amount: Amount, now: datetime) -> None:
        try:
            await self._new_allowance(limits, amount, now, following=True)
        except Exception:  # the next request takes one itself, or goes alone
            log.exception("admission.allowance_failed")
        finally:
            self._renewing.discard(limits.signature)

    async def _new_allowance(
        self, limits: CallerLimits, amount: Amount, now: datetime, *, following: bool = False
    ) -> None:
        """Takes an allowance for requests of about `amount`: the one these limits admit from
        now, or (`following`) once the current one is used up; or, while one is being taken
        for them, waits for that one instead. None when it would be too small, or the store
        refuses it."""
        signature = limits.signature
        pending = self._taking.get(signature)
        if pending is not None:
            await asyncio.shield(pending)
            return
        size = allowance_size(limits.rates, limits.windows, amount, self._wanted_by(signature))
        if not size:
            return
        taking = self._taking[signature] = asyncio.get_running_loop().create_future()
        try:
            taken = Amount(amount.picousd * size, amount.tokens * size)
            decision, outcome = await self._reservations.reserve(limits, taken, now, size)
        finally:
            if self._taking.get(signature) is taking:
                del self._taking[signature]
            taking.set_result(None)
        if not admitted(decision, outcome):  # too little left for a slice: one at a time
            self._refused_until[signature] = self._monotonic() + self._max_age
            return
        reservation = outcome if isinstance(outcome, Reservation) else None
        allowance = Allowance(
            size,
            taken,
            limits.rates,
            limits.windows,
            decision,
            reservation,
            taken_at=self._monotonic(),
        )
        held = self._following if following else self._current
        previous = held.get(signature)
        if previous is not None:
            self._retire(signature, previous)
        held[signature] = allowance
        asyncio.get_running_loop().call_later(self._max_age, self._expire, signature, allowance)

    def _wanted_by(self, signature: Hashable) -> int:
        """How many requests the caller's next allowance asks for."""
        return self._wanted.get(signature, FIRST_REQUESTS)

    def _expire(self, signature: Hashable, allowance: Allowance) -> None:
        """The allowance reached its age: retired, and if it was little used (a quarter or
        less), the caller's next one is half as large."""
        if not allowance.closed and allowance.admitted * 4 <= allowance.requests:
            wanted = shrunk(self._wanted_by(signature))
            if wanted == FIRST_REQUESTS:
                self._wanted.pop(signature, None)
            else:
                self._wanted[signature] = wanted
        self._retire(signature, allowance)

    def _retire(self, signature: Hashable, allowance: Allowance) -> None:
        """The allowance admits no more; it is settled once its last request has."""
        for held in (self._current, self._following):
            if held.get(signature) is allowance:
                del held[signature]
        allowance.closed = True
        self._settle_if_done(allowance)

    def _settle_if_done(self, allowance: Allowance) -> None:
        if allowance.to_settle():
            self._reservations.settle_beside(
                allowance.rates,
                allowance.windows,
                allowance.reservation,
                allowance.held,
                allowance.spent,
                allowance.unused_requests(),
            )
