"""A watch on the tests' event loop: when it stops turning for more than `limit` seconds, what
every thread of the test process was doing is kept, so an async test that timed out because its
own process stalled says so (its report shows the stacks)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import deque


class LoopWatch:
    def __init__(self, loop: asyncio.AbstractEventLoop, *, limit: float = 2.0) -> None:
        self._loop, self._limit = loop, limit
        self._turned = time.monotonic()
        self._stop = threading.Event()
        # (when, as time.time(), the stacks): the latest only
        self.stalls: deque[tuple[float, str]] = deque(maxlen=20)
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)

    def start(self) -> LoopWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def since(self, moment: float) -> list[str]:
        return [stacks for when, stacks in self.stalls if when >= moment]

    def _mark(self) -> None:
        self._turned = time.monotonic()

    def _watch(self) -> None:
        reported = 0.0
        while not self._stop.wait(0.25):
            if not self._loop.is_running():  # between async tests: nothing to wait for
                self._turned = time.monotonic()
                continue
            try:
                self._loop.call_soon_threadsafe(self._mark)
            except RuntimeError:  # the loop is closed
                return
            stalled = time.monotonic() - self._turned
            if stalled > self._limit and self._turned != reported:
                reported = self._turned
                self.stalls.append((time.time(), self._stacks(stalled)))

    @staticmethod
    def _stacks(stalled: float) -> str:
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        parts = [f"the event loop has not turned for {stalled:.1f} s"]
        for ident, frame in sys._current_frames().items():
            parts.append(f"--- thread {names.get(ident, ident)}")
            parts.append("".join(traceback.format_stack(frame)[-12:]))
        return "\n".join(parts)
