"""Budgets for the single-node embedded shape: the Redis ledger's semantics, in process memory.

One asyncio lock serialises every change; `check`, `hold` and `charge` are the steps of a
reservation and its settlement, for the in-memory limit store, which holds `lock` and takes the
rate limits under it too, so an admission checks and holds all its windows as one step.
Counters are lost on restart; `seed` rebuilds them from the database's spend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domains.billing.budget import (
    FINISHED_RETENTION_SECONDS,
    ZERO,
    Amount,
    Budget,
    Refusal,
    Reservation,
    Unseeded,
    forget_at,
    refusal,
)
from domains.shared.ids import new_id


@dataclass
class _Window:
    spent: Amount = ZERO
    reserved: Amount = ZERO
    expires: float | None = None
    seeded: bool = False


@dataclass
class _Record:
    reservation: Reservation
    state: Literal["held", "expired", "settled"]
    forget_at: float


class InMemoryBudgetLedger:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.lock = asyncio.Lock()
        self._windows: dict[str, _Window] = {}
        self._records: dict[str, _Record] = {}

    def check(
        self, windows: dict[str, Budget], amount: Amount, *, require_seed: bool
    ) -> Refusal | Unseeded | None:
        """Why the windows (see `merged_windows`) cannot take `amount` now, or None if they
        can; holding `lock`."""
        if require_seed:
            unseeded = tuple(k for k in windows if not self._windows.get(k, _Window()).seeded)
            if unseeded:
                return Unseeded(unseeded)
        for key, budget in windows.items():
            held = self._windows.get(key, _Window())
            refused = refusal(key, budget, held.spent, held.reserved, amount)
            if refused is not None:
                return refused
        return None

    def hold(self, windows: dict[str, Budget], amount: Amount, ttl: float) -> Reservation:
        """Reserves `amount` on every window, as `check` allowed with no await since."""
        at = self._clock()
        reservation = Reservation(new_id(), tuple(windows), amount, at + ttl)
        for key in windows:
            held = self._touch(key, at)
            held.reserved += amount
        if windows:
            self._records[reservation.id] = _Record(
                reservation, "held", at + ttl + FINISHED_RETENTION_SECONDS
            )
        return reservation

    def charge(self, reservation: Reservation, actual: Amount) -> list[Amount] | None:
        """Settles the reservation: each window's spend after, or None when it was settled
        already; holding `lock`."""
        record = self._records.get(reservation.id)
        if record is not None and record.state == "settled":
            return None
        at = self._clock()
        after = []
        for key in reservation.keys:
            held = self._touch(key, at)
            if record is not None and record.state == "held":
                held.reserved = _minus(held.reserved, reservation.amount)
            held.spent += actual
            after.append(held.spent)
        self._records[reservation.id] = _Record(
            reservation, "settled", at + FINISHED_RETENTION_SECONDS
        )
        return after

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        async with self.lock:
            held = self._windows.get(budget.key(now), _Window())
            return held.spent, held.reserved

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        key = budget.key(now)
        async with self.lock:
            held = self._windows.get(key)
            if held is None or not held.seeded:
                held = self._touch(key, self._clock())
                held.spent = Amount(
                    max(held.spent.picousd, spent.picousd), max(held.spent.tokens, spent.tokens)
                )
                held.seeded = True

    async def release_expired(self) -> int:
        """Releases held reservations past their expiry, and forgets stale windows and records."""
        async with self.lock:
            at = self._clock()
            released = 0
            for record in self._records.values():
                if record.state == "held" and record.reservation.expires_at <= at:
                    for key in record.reservation.keys:
                        held = self._touch(key, at)
                        held.reserved = _minus(held.reserved, record.reservation.amount)
                    record.state = "expired"
                    released += 1
            for rid in [rid for rid, rec in self._records.items() if rec.forget_at <= at]:
                del self._records[rid]
            for key in [k for k, w in self._windows.items() if w.expires and w.expires <= at]:
                del self._windows[key]
            return released

    def _touch(self, key: str, at: float) -> _Window:
        """The window at `key`, created at `at` if it is new (it is forgotten at `forget_at`)."""
        held = self._windows.get(key)
        if held is None:
            held = self._windows[key] = _Window(expires=forget_at(key, at))
        return held


def _minus(a: Amount, b: Amount) -> Amount:
    return Amount(max(a.picousd - b.picousd, 0), max(a.tokens - b.tokens, 0))
