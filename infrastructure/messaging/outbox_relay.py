"""The outbox relay: hands the events a projection reads to the workers, and re-publishes what a
crash or a failing subscriber left behind, a bounded number of times. (Rows are written and
marked dispatched in `infrastructure.db.outbox`.)

An event left undelivered is retried `base_seconds` after it was written, then with an
exponential backoff (`RetryPolicy`); each retry is counted on its outbox row before it is made,
so a restart neither forgets nor repeats the count. Once `max_retries` retries failed the event
becomes a dead letter (`dead_letters.py`) and the relay stops trying. An event retried for the
first time goes out with the others of its sweep; one that failed a retry before goes out in a
wave of its own, so a failing event never holds back one that would be delivered.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import DeliveryFailure
from application.shared.tasks import cancel_and_wait
from domains.shared.clock import utcnow
from domains.shared.events import Event
from infrastructure.db import outbox as outbox_rows
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import outbox
from infrastructure.messaging.dead_letters import DeadLetters, Replay
from infrastructure.messaging.retry_policy import RetryPolicy
from infrastructure.redis_errors import is_redis_unavailable

log = structlog.get_logger("fluxrouter.outbox")

Enqueue = Callable[[list[str]], Awaitable[None]]
Publish = Callable[[Iterable[Event]], Awaitable[None]]


def _ignore(_value: Any) -> None:
    return None


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        codec: EventCodec,
        *,
        enqueue: Enqueue | None,
        projected_types: frozenset[str],
        dead_letters: DeadLetters,
        alerts: tuple[frozenset[str], Enqueue] | None = None,
        policy: RetryPolicy | None = None,
        sweep_every: float = 5.0,
        on_retried: Callable[[int], None] = _ignore,
        on_dead_lettered: Callable[[str], None] = _ignore,
    ) -> None:
        """`on_retried` is told how many events a sweep retried, `on_dead_lettered` the type of
        each event it gave up on (the metrics); `alerts`: the event types alerted on and where
        they are handed (the actor planning their deliveries), like a projection's."""
        self._engine = engine
        self._codec = codec
        self._enqueue = enqueue
        self._projected = projected_types
        self._alert_types: frozenset[str] = alerts[0] if alerts else frozenset()
        self._enqueue_alerts: Enqueue | None = alerts[1] if alerts else None
        self.dead_letters = dead_letters
        self.policy = policy or RetryPolicy()
        self._sweep_after = self.policy.base_seconds
        self._sweep_every = sweep_every
        self._on_retried = on_retried
        self._on_dead_lettered = on_dead_lettered
        self.pending_dead_letters = 0.0
        """The dead letters not replayed, as of the last sweep."""
        self._task: asyncio.Task[None] | None = None

    async def stored(self, event_ids: Sequence[str]) -> set[str]:
        """Which of these events the outbox already holds."""
        async with self._engine.connect() as conn:
            return await outbox_rows.stored(conn, event_ids)

    def projected(self, event: Event) -> bool:
        """Whether a projection reads this event (it is handed to the workers)."""
        name = type(event).__name__
        return (self._enqueue is not None and name in self._projected) or (
            self._enqueue_alerts is not None and name in self._alert_types
        )

    async def project(self, events: Sequence[Event]) -> None:
        """Hand the events a projection reads (or an alert is made of) to the workers (the
        wave's transaction marks them all dispatched when it commits,
        `infrastructure.db.outbox`)."""
        if self._enqueue is not None:
            payloads = [
                self._codec.encode(event).decode()
                for event in events
                if type(event).__name__ in self._projected
            ]
            if payloads:
                await self._enqueue(payloads)
        if self._enqueue_alerts is not None:
            alerts = [
                self._codec.encode(event).decode()
                for event in events
                if type(event).__name__ in self._alert_types
            ]
            if alerts:
                await self._enqueue_alerts(alerts)

    async def sweep(
        self, publish: Publish, *, limit: int = 500, older_than: float | None = None
    ) -> int:
        """Publish again the undelivered events that are due: written more than `older_than`
        seconds ago (by default the policy's first wait) and never retried, or whose next retry
        is due; those whose retries are spent become dead letters instead. How many went out."""
        now = utcnow()
        grace = self._sweep_after if older_than is None else older_than
        stored = func.coalesce(outbox.c.stored_at, outbox.c.occurred_at)
        due = or_(
            outbox.c.next_attempt_at <= now,
            and_(outbox.c.next_attempt_at.is_(None), stored <= now - timedelta(seconds=grace)),
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox)
                    .where(outbox.c.dispatched_at.is_(None), due)
                    .order_by(outbox.c.id)
                    .limit(limit)
                )
            ).all()
        spent = [row for row in rows if row.attempts >= self.policy.max_retries]
        if spent:
            await self._bury(spent, publish)
        retried = await self._count_retries(
            [row for row in rows if row.attempts < self.policy.max_retries], now
        )
        if retried:
            log.warning("outbox.redispatch", events=len(retried))
            self._on_retried(len(retried))
            first = [self._codec.decode(row.payload) for row in retried if row.attempts == 0]
            if first:
                await publish(first)
            for row in retried:
                if row.attempts > 0:
                    await publish([self._codec.decode(row.payload)])
        return len(retried)

    async def _bury(self, rows: Sequence[Any], publish: Publish) -> None:
        events = await self.dead_letters.bury(rows)
        for event in events:
            self._on_dead_lettered(event.dead_event_type)
            log.error(
                "outbox.dead_lettered",
                event_id=event.dead_event_id,
                event_type=event.dead_event_type,
                subscriber=event.subscriber,
                error_class=event.error_class,
                attempts=event.attempts,
                dead_letter_id=event.dead_letter_id,
            )
        if events:
            await publish(events)

    async def _count_retries(self, rows: Sequence[Any], now: datetime) -> list[Any]:
        """Counts a retry on each row, unless another process counted it first (their count
        moved on); the rows this process retries, as they were before."""
        if not rows:
            return []
        by_count: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            by_count[row.attempts].append(row)
        taken: set[int] = set()
        conn = await begin_writing(self._engine)
        try:
            for attempts, group in by_count.items():
                retry = attempts + 1
                claimed = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in group]))
                    .where(outbox.c.attempts == attempts, outbox.c.dispatched_at.is_(None))
                    .values(
                        attempts=retry,
                        next_attempt_at=now + timedelta(seconds=self.policy.wait_after(retry)),
                    )
                    .returning(outbox.c.id)
                )
                taken.update(claimed.scalars())
            await conn.commit()
        finally:
            await end_writing(conn)
        return [row for row in rows if row.id in taken]

    async def record_failures(self, failures: Sequence[DeliveryFailure]) -> None:
        """The bus's `on_failed`: which subscriber failed on which events, and why."""
        await self.dead_letters.record_failures(failures)

    async def replay(self, letter_id: str, *, actor: str, publish: Publish) -> Replay:
        """A dead letter's event back in the outbox with its retries renewed, and delivered now
        (failing, it is retried as a new event is)."""
        due_at = utcnow() + timedelta(seconds=self._sweep_after)
        replay = await self.dead_letters.replay(letter_id, actor=actor, due_at=due_at)
        await publish([replay.audited])
        await publish([replay.event])
        return replay

    async def _refresh_pending(self) -> None:
        self.pending_dead_letters = float(await self.dead_letters.pending())

    def start(self, publish: Publish) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(self._sweep_every)
                try:
                    await self.sweep(publish)
                    await self._refresh_pending()
                except Exception as exc:
                    if is_redis_unavailable(exc):  # the next sweep tries again
                        log.warning("outbox.sweep_deferred", error=type(exc).__name__)
                    else:
                        log.exception("outbox.sweep_failed")

        if self._task is None:
            self._task = asyncio.create_task(loop(), name="outbox-relay")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
