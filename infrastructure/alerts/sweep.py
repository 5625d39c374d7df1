"""Now and then, the deliveries whose next try is overdue (their delayed message was lost with
a process: the embedded broker keeps them in memory; or a try never ended) are handed to the
workers again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from application.shared.tasks import cancel_and_wait
from infrastructure.alerts.deliveries import AlertDeliveries

log = structlog.get_logger("fluxrouter.alerts")

Resend = Callable[[str, int], Awaitable[None]]


class AlertSweep:
    def __init__(
        self,
        deliveries: AlertDeliveries,
        resend: Resend,
        *,
        every: float = 15.0,
        grace: float = 30.0,
    ) -> None:
        self._deliveries = deliveries
        self._resend = resend
        self._every = every
        self._grace = grace
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        overdue = await asyncio.to_thread(self._deliveries.overdue, grace=self._grace)
        for delivery_id, attempt in overdue:
            await self._resend(delivery_id, attempt)
        if overdue:
            log.warning("alerts.overdue_resent", deliveries=len(overdue))
        return len(overdue)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alert-sweep")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sweep()
            except Exception:
                log.exception("alerts.sweep_failed")
