"""The limits every request is checked against, held in memory and swapped whole.

Reloaded from the database every `every` seconds and at once when this process changes a
limit (`when_limits_changed_reload`), so a change made on one replica reaches the others
within one reload period. A reload that fails keeps the last good snapshot, and one that
finishes after a reload started later is dropped: a periodic read begun before a change was
committed never overwrites the read made for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from application.shared.tasks import cancel_and_wait
from application.shared.uow import UnitOfWork
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from domains.shared.events import Event

log = structlog.get_logger("fluxrouter.limits")


class LimitsCache:
    def __init__(
        self, load: Callable[[], Awaitable[LimitsSnapshot]], *, every: float = 2.0
    ) -> None:
        self._load = load
        self._every = every
        self.snapshot = LimitsSnapshot()
        self._task: asyncio.Task[None] | None = None
        self._started = 0  # reloads begun
        self._shown = 0  # the number of the reload whose snapshot is held

    def current(self) -> LimitsSnapshot:
        return self.snapshot

    def price_of(self, provider: str, model: str) -> Price | None:
        return self.snapshot.price_of(provider, model)

    async def reload(self) -> None:
        self._started += 1
        mine = self._started
        snapshot = await self._load()
        if mine > self._shown:
            self._shown, self.snapshot = mine, snapshot

    async def start(self) -> None:
        await self.reload()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="limits-reload")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.reload()
            except Exception:
                log.exception("limits.reload_failed")

    async def when_limits_changed_reload(self, events: list[Event], uow: UnitOfWork) -> None:
        await self.reload()
