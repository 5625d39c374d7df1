"""The retention sweep of stored responses: every `every_seconds`, the responses past their
retention are deleted (`ForgetExpiredResponses`), a bounded batch per transaction until none is
left. Reads never show an expired response, so the sweep only frees the space."""

from __future__ import annotations

import asyncio

import structlog

from application.bus import MessageBus
from application.conversations.commands import ForgetExpiredResponses
from application.shared.tasks import cancel_and_wait

log = structlog.get_logger("fluxrouter.responses")

BATCH = 500
"""Responses deleted in one transaction: a long backlog never holds one write for long."""


class ResponseSweep:
    def __init__(self, bus: MessageBus, *, every_seconds: float, batch: int = BATCH) -> None:
        self._bus = bus
        self._every = every_seconds
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Deletes every response past its retention now; how many."""
        total = 0
        while True:
            forgotten: int = await self._bus.handle(ForgetExpiredResponses(most=self._batch))
            total += forgotten
            if forgotten < self._batch:
                return total

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="responses-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                forgotten = await self.sweep()
            except Exception as error:  # the database is busy or away: the next sweep retries
                log.warning("responses.sweep_failed", error=type(error).__name__)
                continue
            if forgotten:
                log.info("responses.expired_deleted", responses=forgotten)
