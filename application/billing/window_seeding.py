"""Cold windows: a budget window the limit store has never seen (a new day or month, a Redis
flush, a restart) is seeded with the database's spend before anything is reserved against it,
once per window however many requests find it unseeded at the same moment.

The first request to find a window unseeded starts its seeding; the others wait for that one
(the database is read once per window, and a burst of first requests holds no connection of the
pool). A seeding that fails fails its waiters, and the next request starts another.

A request whose "unseeded" answer was asked for before a seeding of that window finished (its
answer crossed the seeding on the way) does not seed again: it asks the store once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

import structlog

from domains.billing.budget import Amount, Budget, Unseeded
from domains.billing.limit_store import LimitStore

log = structlog.get_logger("fluxrouter.admission")

# what the database holds of a budget's spend in the window `now` falls in
SpentInWindow = Callable[[Budget, datetime], Awaitable[Amount]]

_REMEMBERED = 10_000  # windows whose finished seeding is remembered


class WindowSeeding:
    def __init__(self, store: LimitStore, spent_in_window: SpentInWindow) -> None:
        self._store = store
        self._spent_in_window = spent_in_window
        self._seeding: dict[str, asyncio.Future[None]] = {}  # by window key, while it is seeded
        self._finished = 0  # how many seedings have finished well so far
        self._finished_as: dict[str, int] = {}  # by window key: the number its seeding got

    @property
    def finished(self) -> int:
        """A mark to take before asking the store, for `seed(..., asked_at=)`."""
        return self._finished

    async def seed(
        self,
        unseeded: Unseeded,
        windows: dict[str, Budget],
        now: datetime,
        *,
        asked_at: int | None = None,
    ) -> None:
        """Seeds each window the store named unseeded, or waits for the seeding under way;
        with `asked_at` (`finished` when the store was asked), skips the windows whose seeding
        finished since."""
        for key in unseeded.keys:
            if asked_at is not None and self._finished_as.get(key, -1) >= asked_at:
                continue  # seeded after the store was asked: its answer is out of date
            seeding = self._seeding.get(key)
            if seeding is None:
                seeding = asyncio.ensure_future(self._seed_window(key, windows[key], now))
                self._seeding[key] = seeding
                seeding.add_done_callback(partial(self._seeded, key))
            await asyncio.shield(seeding)  # a request that goes away leaves it to the others

    async def _seed_window(self, key: str, budget: Budget, now: datetime) -> None:
        spent = await self._spent_in_window(budget, now)
        await self._store.seed(budget, spent, now=now)
        log.info("budget.seeded", window=key, spent_tokens=spent.tokens)

    def _seeded(self, key: str, seeding: asyncio.Future[None]) -> None:
        """A seeding ended: the next request that finds the window unseeded (it failed, or the
        store lost the window since) starts another."""
        if self._seeding.get(key) is seeding:
            del self._seeding[key]
        if not seeding.cancelled() and seeding.exception() is None:
            if len(self._finished_as) >= _REMEMBERED:  # old windows: at worst a second read
                self._finished_as.clear()
            self._finished_as[key] = self._finished
            self._finished += 1
        elif not seeding.cancelled():
            log.warning(
                "budget.seeding_failed", window=key, error=type(seeding.exception()).__name__
            )
