"""The SQL transaction a wave's subscribers share: one connection and one commit a wave.

Each subscriber's unit of work runs inside it. The first unit to write needs no savepoint: if it
fails, the transaction holds only its work and is rolled back whole (and begun again by the next
statement). Once a unit has kept work there, the next ones run in a savepoint, so a failing
subscriber undoes its own changes only. The commit marks the wave dispatched (when every
subscriber handled it) in the same transaction as the subscribers' effects and their events'
outbox rows; the units' events are handed to the bus only after that commit.

`whole=True`: the transaction carries a command and every wave it causes, all or nothing. No
unit takes a savepoint; the events' outbox rows are written already dispatched, since the commit
that keeps them also means every subscriber handled them. Events a projection reads are the
exception: they are handed to the workers only once committed (a worker must never count an
event a rolled-back transaction made, whose retry makes another), so their rows are written
undispatched and, after the commit, marked in a transaction of their own once handed on; if
that fails, the relay's sweep hands them on later. A unit that ends without committing spoils
the whole transaction (rolled back, `spoiled` set), and the bus then runs the command again the
careful way.

`SqlTransactions` is what the bus is given: a command's own unit of work, and a wave's
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from domains.shared.events import Event
from infrastructure.db import outbox
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.uow import SqlUnitOfWork
from infrastructure.redis_errors import is_redis_unavailable

HandOn = Callable[[Sequence[Event]], Awaitable[None]]
"""Hands events a projection reads to the workers (the others it passes over)."""
Projected = Callable[[Event], bool]

log = structlog.get_logger("fluxrouter.bus")


class SqlWaveTransaction:
    def __init__(
        self,
        engine: AsyncEngine,
        codec: EventCodec,
        hand_on: HandOn,
        projected: Projected,
        *,
        whole: bool = False,
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._hand_on_to_workers = hand_on
        self._projected = projected
        self._whole = whole
        self.spoiled = False
        """`whole`: a unit ended without committing, and the transaction was rolled back."""
        self._conn: AsyncConnection | None = None
        self._holds_work = False
        self._kept: list[Event] = []
        """Events of the units that committed, written to the outbox, not yet committed."""
        self._committed: list[Event] = []

    async def __aenter__(self) -> Self:
        conn = await begin_writing(self._engine)
        self._conn, self._holds_work, self._kept, self.spoiled = conn, False, [], False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._kept = []
        if conn is not None:
            await end_writing(conn)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, self._codec, wave=self)

    async def commit(self, dispatched: Sequence[Event]) -> None:
        conn = self._require_conn()
        if self._whole:  # the bus took every kept event as its next wave
            await conn.commit()
            later = [event for event in dispatched if self._projected(event)]
            if later:
                await self._hand_on(later)
            return
        if dispatched:
            await self._mark(conn, dispatched)
        await conn.commit()
        self._committed.extend(self._kept)
        self._kept = []

    async def _mark(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        """Hand the projected events to the workers, then mark them all done in the transaction
        `conn` is in: if it does not commit, the sweep replays them and the projections,
        idempotent, see them again."""
        await self._hand_on_to_workers(events)
        await outbox.mark_dispatched(conn, events)

    def dispatched_on_write(self, event: Event) -> bool:
        """Whether `event`'s outbox row is written dispatched (`whole`, and no projection)."""
        return self._whole and not self._projected(event)

    async def _hand_on(self, events: Sequence[Event]) -> None:
        """`whole`, after the commit: hand the projected events to the workers and mark them
        dispatched; a failure leaves them to the relay's sweep (the transaction is kept)."""
        try:
            conn = await begin_writing(self._engine)
            try:
                await self._mark(conn, events)
                await conn.commit()
            finally:
                await end_writing(conn)
        except Exception as exc:
            ids = [event.event_id for event in events[:20]]
            if is_redis_unavailable(exc):  # an outage, not a bug: the sweep hands them on later
                log.warning("bus.hand_on_deferred", events=ids, error=type(exc).__name__)
            else:
                log.exception("bus.hand_on_failed", events=ids)

    def take_kept(self) -> list[Event]:
        """`whole`: the events the units kept since the last call, the next wave to deliver."""
        events, self._kept = self._kept, []
        return events

    def collect_new_events(self) -> list[Event]:
        events, self._committed = self._committed, []
        return events

    async def enter(self) -> tuple[AsyncConnection, AsyncTransaction | None]:
        """A unit begins: the connection, and a savepoint if another unit's work is here."""
        conn = self._require_conn()
        return conn, (await conn.begin_nested() if self._holds_work and not self._whole else None)

    async def keep(self, savepoint: AsyncTransaction | None, events: Sequence[Event]) -> None:
        """A unit committed: its work (and its events' outbox rows) stays in the transaction."""
        if savepoint is not None and savepoint.is_active:
            await savepoint.commit()
        self._holds_work = True
        self._kept.extend(events)

    async def discard(self, savepoint: AsyncTransaction | None) -> None:
        """A unit ended without committing: undo its changes, and only its."""
        conn = self._require_conn()
        if savepoint is not None:
            if savepoint.is_active:
                await savepoint.rollback()
            return
        if self._whole:
            self.spoiled = True  # the command's work may be in it: the careful way redoes all
        if conn.in_transaction():  # nothing but this unit's work is in it (or `whole`: spoiled)
            await conn.rollback()

    def _require_conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the wave's transaction is used outside `async with`")
        return self._conn


class SqlTransactions:
    """The bus's transactions on one database: a command's own unit of work, and a wave's
    shared transaction."""

    def __init__(
        self, engine: AsyncEngine, codec: EventCodec, hand_on: HandOn, projected: Projected
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._hand_on = hand_on
        self._projected = projected

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, self._codec)

    def wave(self, *, whole: bool = False) -> SqlWaveTransaction:
        return SqlWaveTransaction(
            self._engine, self._codec, self._hand_on, self._projected, whole=whole
        )
