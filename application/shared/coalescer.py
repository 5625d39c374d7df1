"""Security events that can come in floods — refused keys, refused requests — are counted, not
written one by one: the same refusal (same key prefix, reason and address; same limit) within
`every` seconds becomes one event carrying its count and its first and last times. A flood of
bad keys therefore costs a few audit rows a second, not one per request, and is still seen.

With `longest`, a refusal that goes on is written less and less often: its next event comes
8 times as long after the last as that one after the one before (`every`, 8x, 64x...), at most
`longest` seconds apart, so a flood that lasts costs a handful of rows, not one a second; once a
refusal stops, its next occurrence is written after `every` again.

Noting is a dict update on the request's path; a background task writes what gathered. The
number of distinct refusals held is bounded; beyond it they are counted as dropped and logged.
A refusal noted with a `variant` (the key prefix of a refused credential) is still one refusal
when its variants differ: the event is then made by `mixed` (no single prefix to name).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from application.shared.tasks import cancel_and_wait
from domains.shared.clock import utcnow
from domains.shared.events import Event

log = structlog.get_logger("fluxrouter.coalescer")

GROWTH = 8  # how much longer each next event of a refusal that goes on waits

# (count, first seen, last seen) → the event that tells of them
MakeEvent = Callable[[int, datetime, datetime], Event]


@dataclass
class _Tally:
    make: MakeEvent
    count: int
    first: datetime
    last: datetime
    variant: Hashable = None
    mixed: MakeEvent | None = None


@dataclass
class _Pace:
    due: float  # monotonic time before which the next event of this refusal is held
    interval: float  # how long the one after that waits


class Coalescer:
    def __init__(
        self,
        write: Callable[[Sequence[Event]], Awaitable[None]],
        *,
        every: float = 1.0,
        longest: float | None = None,
        max_distinct: int = 10_000,
    ) -> None:
        self._write = write
        self._every = every
        self._longest = longest
        self._max = max_distinct
        self._tallies: dict[Hashable, _Tally] = {}
        self._paces: dict[Hashable, _Pace] = {}
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def note(
        self,
        key: Hashable,
        make: MakeEvent,
        *,
        variant: Hashable = None,
        mixed: MakeEvent | None = None,
    ) -> None:
        now = utcnow()
        tally = self._tallies.get(key)
        if tally is not None:
            tally.count += 1
            tally.last = now
            if mixed is not None and variant != tally.variant:
                tally.make = mixed
            return
        if len(self._tallies) >= self._max:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.error("coalescer.full", distinct=len(self._tallies), dropped=self.dropped)
            return
        self._tallies[key] = _Tally(make, 1, now, now, variant)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="refusal-coalescer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush(held_too=True)

    def _due(self, held_too: bool) -> dict[Hashable, _Tally]:
        """The tallies to write now, taken out; those paced for later stay."""
        if self._longest is None or held_too:
            tallies, self._tallies = self._tallies, {}
            return tallies
        now = time.monotonic()
        for key in [k for k, pace in self._paces.items() if pace.due <= now]:
            if key not in self._tallies:  # quiet since its last event: paced afresh
                del self._paces[key]
        due: dict[Hashable, _Tally] = {}
        for key in list(self._tallies):
            pace = self._paces.get(key)
            if pace is not None and pace.due > now:
                continue
            due[key] = self._tallies.pop(key)
            interval = self._every * GROWTH if pace is None else pace.interval
            self._paces[key] = _Pace(now + interval, min(self._longest, interval * GROWTH))
        return due

    async def flush(self, *, held_too: bool = False) -> None:
        """Writes what gathered so far (`held_too`: those paced for later as well); kept for
        the next attempt if the write fails."""
        if not self._tallies and not self._paces:
            return
        tallies = self._due(held_too)
        if not tallies:
            return
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
