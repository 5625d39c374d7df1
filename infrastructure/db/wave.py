"""The SQL transaction a wave's subscribers share: one connection and one commit a wave.

Each subscriber's unit of work runs inside it. The first unit to write needs no savepoint: if it
fails, the transaction holds only its work and is rolled back whole (and begun again by the next
statement). Once a unit has kept work there, the next ones run in a savepoint, so a failing
subscriber undoes its own changes only. The commit marks the wave dispatched (when every
subscriber handled it) in the same transaction as the subscribers' effects and their events'
outbox rows; the units' events are handed to the bus only after that commit.

`whole=True`: the transaction carries a command and every wave it causes, all or nothing. No
unit takes a savepoint; the events' outbox rows are written already dispatched, since the commit
that keeps them also means every subscriber handled them; the commit hands the events to the
projections instead of marking them. A unit that ends without committing spoils the whole
transaction (rolled back, `spoiled` set), and the bus then runs the command again the careful way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from domains.shared.events import Event
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.uow import SqlUnitOfWork

MarkDispatched = Callable[[AsyncConnection, Sequence[Event]], Awaitable[None]]
Project = Callable[[Sequence[Event]], Awaitable[None]]


class SqlWaveTransaction:
    def __init__(
        self,
        engine: AsyncEngine,
        codec: EventCodec,
        mark: MarkDispatched,
        project: Project,
        *,
        whole: bool = False,
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._mark = mark
        self._project = project
        self.whole = whole
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
        if self.whole:
            if dispatched:
                await self._project(dispatched)  # their rows are written dispatched already
            await conn.commit()
            self._kept = []
            return
        if dispatched:
            await self._mark(conn, dispatched)
        await conn.commit()
        self._committed.extend(self._kept)
        self._kept = []

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
        return conn, (await conn.begin_nested() if self._holds_work and not self.whole else None)

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
        if self.whole:
            self.spoiled = True  # the command's work may be in it: the careful way redoes all
        if conn.in_transaction():  # nothing but this unit's work is in it (or `whole`: spoiled)
            await conn.rollback()

    def _require_conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the wave's transaction is used outside `async with`")
        return self._conn
