"""Where the log's JSON lines go: one write for all the lines an event loop logs in one turn.

A busy server finishes many requests in one turn of its event loop, and each logs a line; a
write (and flush) per line is a system call per request. Lines logged on a running loop wait
until the loop's next turn and go out in one write. Errors, lines logged where no loop runs (the
CLI, worker threads) and whatever is still waiting at exit are written at once, so a crash
loses at most the info lines of one turn.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from typing import Any, BinaryIO


class LineWriter:
    """A structlog logger of rendered lines (bytes), for `structlog.configure`'s factory."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._lock = threading.Lock()  # loops in several threads may log at once
        self._flush_on: asyncio.AbstractEventLoop | None = None
        """The loop whose next turn writes what waits."""
        atexit.register(self.flush)

    def __call__(self, *_: Any) -> LineWriter:
        """structlog's logger factory: every bound logger writes through this one."""
        return self

    def msg(self, message: bytes) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write([message])
            return
        with self._lock:
            self._pending.append(message)
            # once a turn; again if lines wait for a loop that stopped before its turn came
            schedule = self._flush_on is not loop
            self._flush_on = loop
        if schedule:
            loop.call_soon(self.flush)

    def urgent(self, message: bytes) -> None:
        """Written now, after anything waiting."""
        lines = self._take()
        lines.append(message)
        self._write(lines)

    def flush(self) -> None:
        lines = self._take()
        if lines:
            self._write(lines)

    def _take(self) -> list[bytes]:
        """What waits, no longer waiting for any loop's turn."""
        with self._lock:
            lines, self._pending = self._pending, []
            self._flush_on = None
        return lines

    def _write(self, lines: list[bytes]) -> None:
        lines.append(b"")
        self._stream.write(b"\n".join(lines))
        self._stream.flush()

    debug = info = warn = warning = log = msg
    error = err = critical = fatal = exception = failure = urgent
