"""Security events that can come in floods — refused keys, refused requests — are counted, not
written one by one: the same refusal (same key prefix, reason and address; same limit) within
`every` seconds becomes one event carrying its count and its first and last times. A flood of
bad keys therefore costs a few audit rows a second, not one per request, and is still seen.

Noting is a dict update on the request's path; a background task writes what gathered. The
number of distinct refusals held is bounded; beyond it they are counted as dropped and logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from application.shared.tasks import cancel_and_wait
from domains.shared.clock import utcnow
from domains.shared.events import Event

log = structlog.get_logger("fluxrouter.coalescer")

# (count, first seen, last seen) → the event that tells of them
MakeEvent = Callable[[int, datetime, datetime], Event]


@dataclass
class _Tally:
    make: MakeEvent
    count: int
    first: datetime
    last: datetime


class Coalescer:
    def __init__(
        self,
        write: Callable[[Sequence[Event]], Awaitable[None]],
        *,
        every: float = 1.0,
        max_distinct: int = 10_000,
    ) -> None:
        self._write = write
        self._every = every
        self._max = max_distinct
        self._tallies: dict[Hashable, _Tally] = {}
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def note(self, key: Hashable, make: MakeEvent) -> None:
        now = utcnow()
        tally = self._tallies.get(key)
        if tally is not None:
            tally.count += 1
            tally.last = now
            return
        if len(self._tallies) >= self._max:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.error("coalescer.full", distinct=len(self._tallies), dropped=self.dropped)
            return
        self._tallies[key] = _Tally(make, 1, now, now)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="refusal-coalescer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Writes what gathered so far; kept for the next attempt if the write fails."""
        if not self._tallies:
            return
        tallies, self._tallies = self._tallies, {}
        events = [tally.make(tally.count, tally.first, tally.last) for tally in tallies.values()]
        try:
            await self._write(events)
        except Exception:
            log.exception("coalescer.write_failed", events=len(events))
            for key, tally in tallies.items():  # merge back what could not be written
                seen = self._tallies.setdefault(key, tally)
                if seen is not tally:
                    seen.count += tally.count
                    seen.first = min(seen.first, tally.first)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.flush()
