"""The period of the retention job: every `every_seconds` (and once at start), the gateway
sends the `prune_retention` actor a message; a worker (or, without Redis, the gateway's own
embedded worker) runs it. Several replicas sending it is harmless: a run finds nothing left
by the one before."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from application.shared.tasks import cancel_and_wait

log = structlog.get_logger("fluxrouter.retention")


class RetentionSchedule:
    def __init__(self, send: Callable[[], Awaitable[None]], *, every_seconds: float) -> None:
        self._send = send
        self._every = every_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="retention-schedule")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self._send()
            except Exception as error:  # the broker is away: the next period sends again
                log.warning("retention.schedule_failed", error=type(error).__name__)
            await asyncio.sleep(self._every)
