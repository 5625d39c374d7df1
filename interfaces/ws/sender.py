"""The one writer of a connection.

Messages wait in a bounded queue for a single task that writes them in order. The transport
itself waits while the client's TCP window is full, so a client that reads slowly fills the queue,
and whoever sends next (a generation with its next delta) waits in turn, no longer reading its
upstream: nothing is buffered without bound. Once the client is gone, messages are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from litestar import WebSocket

from interfaces.ws.messages import ServerMessage, encode


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Sender:
    def __init__(self, socket: WebSocket[Any, Any, Any], capacity: int) -> None:
        self._socket = socket
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()  # nothing more will be written
        self.gone = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ws-sender")

    async def send(self, message: ServerMessage) -> None:
        """Queues the message, waiting while the queue is full (a slow reader)."""
        if not self.gone:
            await self._queue.put(encode(message))

    async def send_text(self, text: str) -> None:
        """Queues a message already encoded (a protocol whose events come encoded)."""
        if not self.gone:
            await self._queue.put(text)

    async def close(self, code: int, reason: str) -> None:
        """Closes the connection once everything queued before has been written."""
        if not self.gone:
            await self._queue.put(_Close(code, reason))

    async def stop(self, *, flush_within: float = 0.0) -> None:
        """Stops writing; with `flush_within`, first gives what is queued (a close included)
        that long to go out."""
        if self._task is not None and flush_within > 0 and not self.gone:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_within):
                    await self._done.wait()
        self.gone = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Close):
                    await self._socket.close(item.code, item.reason)
                    self.gone = True
                    break
                await self._socket.send_text(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away (or closed) while we wrote
            self.gone = True
        self._done.set()
        while True:  # unblock anyone still waiting for room; what they send is dropped
            await self._queue.get()
