"""Finished calls are recorded after the response, in batches, off the request's path.

The hot path only appends to a deque. A background task writes what gathered to the outbox in one
transaction and publishes it on the bus (billing and audit react), one batch a `linger` unless a
full batch waits: what comes in while a batch is written waits for the next linger, so a steady
trickle of calls goes out in batches of a linger's worth, not a batch of one or two calls per
write (each batch's transactions cost about as much as its rows). If a write fails the batch is
kept and retried; `stop()` flushes what is left, after letting a write under way finish.

When the writes fall behind (a database slower than the traffic), the backlog is bounded:
once `high_water` calls wait, `room()` holds new requests back until a batch has been written,
so a gateway under more load than its accounting can write serves at the pace it can account
for, instead of piling up calls in memory (and, at `max_pending`, dropping them). Each wait is
one batch's write, not the draining of a large backlog, and at most `max_wait`: while the writes
fail (the database is down) requests go on being served, their calls kept for the retries.

With a journal (`application.providers.journal`), each call is journaled as it is recorded, before
it waits in memory, so a process that stops or dies with calls not written loses none: the next
start replays them (`adopt`), and they are written as replays, once each by event id. `stop()`
then waits for the journal to be on disk, and gives the database `stop_flush` seconds at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from application.providers.commands import RecordCompletions
from application.providers.journal import CallJournal
from application.shared.tasks import cancel_and_wait
from domains.providers.events import CompletionFinished
from domains.shared.events import Command

log = structlog.get_logger("fluxrouter.recorder")

BEHIND_LOG_EVERY = 10.0
"""Seconds between two `recorder.behind` warnings while the accounting stays behind."""


class CompletionRecorder:
    def __init__(
        self,
        handle: Callable[[Command], Awaitable[object]],
        *,
        max_batch: int = 500,
        linger: float = 0.02,
        max_pending: int = 1_000_000,
        high_water: int = 10_000,
        max_wait: float = 1.0,
        observe: Callable[[CompletionFinished], None] | None = None,
        journal: CallJournal | None = None,
        stop_flush: float = 5.0,
    ) -> None:
        self._handle = handle
        self._journal = journal
        self._stop_flush = stop_flush
        self._replays: deque[CompletionFinished] = deque()
        """Calls adopted from a journal replay, written as replays (first)."""
        self.replayed = 0
        """How many adopted calls were written."""
        self._observe = observe
        self._max_batch = max_batch
        self._linger = linger
        self._writing: asyncio.Task[bool] | None = None
        """The write under way, shielded from `stop()`'s cancellation of the loop."""
        self._in_flight: list[CompletionFinished] = []
        """The batch of that write."""
        self._pending: deque[CompletionFinished] = deque()
        self._max_pending = max_pending
        self.dropped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._high_water = high_water
        self._max_wait = max_wait
        self._room = asyncio.Event()
        """Set while new requests may go: cleared at `high_water`, set again below it."""
        self._room.set()
        self.held_back = 0
        """How many times a request waited for room."""
        self._next_behind_log = 0.0

    def record(self, event: CompletionFinished) -> None:
        if self._journal is not None:
            self._journal.finished(event)
        if self._observe is not None:
            self._observe(event)
        if len(self._pending) >= self._max_pending:
            # never silently: the accounting cannot keep up and memory is bounded
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.error("recorder.backlog_full", backlog=len(self._pending), dropped=self.dropped)
            return
        self._pending.append(event)
        self._idle.clear()
        self._wake.set()
        if len(self._pending) >= self._high_water and self._room.is_set():
            self._room.clear()
            now = time.monotonic()
            if now >= self._next_behind_log:  # at most once every BEHIND_LOG_EVERY seconds
                self._next_behind_log = now + BEHIND_LOG_EVERY
                log.warning(
                    "recorder.behind",
                    backlog=len(self._pending),
                    high_water=self._high_water,
                    held_back=self.held_back,
                )

    def adopt(self, events: list[CompletionFinished]) -> None:
        """Calls replayed from the journal another process left: journaled here in turn, then
        written as replays (those the outbox holds already are left out)."""
        for event in events:
            if self._journal is not None:
                self._journal.finished(event)
            self._replays.append(event)
        if events:
            self._idle.clear()
            self._wake.set()

    async def room(self) -> None:
        """Returns at once unless the backlog reached `high_water`; then once it is below it
        again (a batch written), or after `max_wait` seconds."""
        if self._room.is_set():
            return
        self.held_back += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), self._max_wait)

    def _made_room(self) -> None:
        if not self._room.is_set() and len(self._pending) < self._high_water:
            self._room.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="completion-recorder")

    async def stop(self) -> None:
        """Stops after one last attempt to write what waits. With a journal, what waits is on
        disk first, and the attempt is given `stop_flush` seconds (a database that does not
        answer does not hold the shutdown: the next start replays the journal)."""
        self._room.set()  # nobody waits on a recorder that is going away
        await cancel_and_wait(self._task)
        self._task = None
        if self._journal is None:
            if self._writing is not None:  # a batch cut off mid-write would be lost or doubled
                await self._writing
            await self._drain(retry=False)
            return
        await self._journal.sync()
        try:
            async with asyncio.timeout(self._stop_flush):
                if self._writing is not None:
                    await self._writing
                await self._drain(retry=False)
        except TimeoutError:
            log.warning("recorder.stop_flush_timed_out", unwritten=self.unwritten)

    @property
    def backlog(self) -> int:
        """Finished calls waiting to be written (replayed ones included)."""
        return len(self._pending) + len(self._replays)

    @property
    def unwritten(self) -> int:
        """Finished calls not written yet: those waiting and those being written."""
        return self.backlog + len(self._in_flight)

    def waiting(self) -> list[CompletionFinished]:
        """The finished calls not yet written, those being written included."""
        return [*self._replays, *self._in_flight, *self._pending]

    async def wait_idle(self) -> None:
        """Until everything recorded so far has been written and published."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self._linger)
            await self._drain(retry=True, lingering=True)

    async def _drain(self, *, retry: bool, lingering: bool = False) -> None:
        """Writes what is pending, in batches; `lingering`: only one batch, unless a full one
        waits behind it (what came in meanwhile waits for the next linger)."""
        while self._pending or self._replays:
            replayed = bool(self._replays)
            queue = self._replays if replayed else self._pending
            batch = [queue.popleft() for _ in range(min(self._max_batch, len(queue)))]
            self._in_flight = batch
            writing = asyncio.ensure_future(self._write(batch, queue, replayed))
            self._writing = writing
            written = await asyncio.shield(writing)  # if cancelled, `stop()` awaits `writing`
            self._writing = None
            self._made_room()
            if not written:
                if not retry:
                    return
                await asyncio.sleep(1.0)
            elif replayed:
                self.replayed += len(batch)
            elif lingering and 0 < len(self._pending) < self._max_batch:
                self._wake.set()
                return
        if self._journal is not None:
            await self._journal.settled()
        if not self._pending and not self._replays:  # nothing came in during `settled`
            self._idle.set()

    async def _write(
        self, batch: list[CompletionFinished], queue: deque[CompletionFinished], replayed: bool
    ) -> bool:
        """Whether the batch was written; if not, it is put back in front, in order."""
        try:
            await self._handle(RecordCompletions(completions=tuple(batch), replayed=replayed))
        except Exception:
            log.exception("recorder.write_failed", events=len(batch), replayed=replayed)
            queue.extendleft(reversed(batch))
            return False
        finally:  # written, or back in its queue
            self._in_flight = []
        return True
