"""The outbox relay: marks published waves done, hands them to the projections, and re-publishes
what a crash or a failing subscriber left behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta

import structlog
from sqlalchemy import String, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.shared.tasks import cancel_and_wait
from domains.shared.clock import utcnow
from domains.shared.events import Event
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import outbox

log = structlog.get_logger("fluxrouter.outbox")

Enqueue = Callable[[list[str]], Awaitable[None]]
Publish = Callable[[Iterable[Event]], Awaitable[None]]


_PG_MARK_DISPATCHED = (
    update(outbox)
    .where(outbox.c.event_id == any_(bindparam("ids", type_=ARRAY(String))))
    .values(dispatched_at=bindparam("at"))
)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        codec: EventCodec,
        *,
        enqueue: Enqueue | None,
        projected_types: frozenset[str],
        sweep_after: float = 15.0,
        sweep_every: float = 5.0,
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._enqueue = enqueue
        self._projected = projected_types
        self._sweep_after = sweep_after
        self._sweep_every = sweep_every
        self._task: asyncio.Task[None] | None = None

    async def dispatched_in(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Hand the wave's projected events to the workers, then mark the wave done in the
        transaction `conn` is in (a wave's shared one): if it does not commit, the sweep
        replays the wave and the projections, idempotent, see the events again."""
        await self._project(events)
        ids = [event.event_id for event in events]
        if conn.dialect.name == "postgresql":  # one statement of fixed text, any batch size
            await conn.execute(_PG_MARK_DISPATCHED, {"ids": ids, "at": utcnow()})
            return
        for start in range(0, len(ids), 500):
            await conn.execute(
                update(outbox)
                .where(outbox.c.event_id.in_(ids[start : start + 500]))
                .values(dispatched_at=utcnow())
            )

    async def stored(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these events the outbox already holds."""
        found: set[str] = set()
        async with self._engine.connect() as conn:
            for start in range(0, len(event_ids), 500):
                rows = await conn.execute(
                    select(outbox.c.event_id).where(
                        outbox.c.event_id.in_(event_ids[start : start + 500])
                    )
                )
                found.update(rows.scalars())
        return found

    def projected(self, event: Event) -> bool:
        """Whether a projection reads this event (it is handed to the workers)."""
        return self._enqueue is not None and type(event).__name__ in self._projected

    async def _project(self, events: Sequence[Event]) -> None:
        if self._enqueue is None:
            return
        payloads = [self._codec.encode(event).decode() for event in events if self.projected(event)]
        if payloads:
            await self._enqueue(payloads)

    async def sweep(
        self, publish: Publish, *, limit: int = 500, older_than: float | None = None
    ) -> int:
        """Publish again the events left undispatched for longer than `older_than` seconds
        (by default the relay's `sweep_after`)."""
        grace = self._sweep_after if older_than is None else older_than
        cutoff = utcnow() - timedelta(seconds=grace)
        stored = func.coalesce(outbox.c.stored_at, outbox.c.occurred_at)
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.payload)
                    .where(outbox.c.dispatched_at.is_(None), stored <= cutoff)
                    .order_by(outbox.c.id)
                    .limit(limit)
                )
            ).all()
        events = [self._codec.decode(row.payload) for row in rows]
        if events:
            log.warning("outbox.redispatch", events=len(events))
            await publish(events)
        return len(events)

    def start(self, publish: Publish) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(self._sweep_every)
                try:
                    await self.sweep(publish)
                except Exception:
                    log.exception("outbox.sweep_failed")

        if self._task is None:
            self._task = asyncio.create_task(loop(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
