"""Storing finished responses with a group commit: the responses that finish within a `linger`
(20 ms) of the first, or while a write is under way, are stored together by the next write, in
one transaction (`StoreResponses`). Under load a few dozen transactions a second store thousands
of responses (on SQLite one write at a time is all there is), and a serving process's
accounting process is spoken to once a batch, not once a response.

A response is answered once it is handed over (`put`), not once it is written: its write would
otherwise add a database transaction's wait to every answer. Reads of a response this process
is still writing wait for that write (`written`), so a client that continues from it at once
finds it; stopping waits for every write (`drain`).

A batch that fails is stored again one response at a time, so one bad response (an id stored
already) fails only its own caller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from application.conversations.commands import StoreResponse, StoreResponses
from domains.shared.events import Command

MOST = 200
"""Responses one transaction stores at most."""
LINGER = 0.02
"""Seconds a batch waits for more responses before it is written (the completion recorder's)."""


class ResponseStore:
    """`write` handles a `StoreResponses` or a `StoreResponse`: the bus, or a serving process's
    accounting process (which then writes them, off this process's event loop)."""

    def __init__(
        self,
        write: Callable[[Command], Awaitable[object]],
        *,
        most: int = MOST,
        linger: float = LINGER,
    ) -> None:
        self._handle = write
        self._most = most
        self._linger = linger
        self._pending: list[tuple[StoreResponse, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._unwritten: dict[str, asyncio.Future[None]] = {}

    def put(self, command: StoreResponse) -> asyncio.Future[None]:
        """Hands the response over to be written with the next batch; the future is done once it
        is stored (or holds what storing it raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)
        self._pending.append((command, done))
        response_id = command.response_id
        self._unwritten[response_id] = done
        done.add_done_callback(lambda _: self._unwritten.pop(response_id, None))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="responses-store")
        return done

    async def keep(self, command: StoreResponse) -> None:
        """Returns once the response is stored; raises what storing it raised."""
        await asyncio.shield(self.put(command))

    async def written(self, response_id: str) -> None:
        """Returns once `response_id`, if this process is writing it, is written (or failed)."""
        done = self._unwritten.get(response_id)
        if done is not None:
            await asyncio.wait({done})

    async def drain(self) -> None:
        """Returns once every response handed over is written (or failed)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.wait({self._writing})

    async def _write(self) -> None:
        if self._linger:
            await asyncio.sleep(self._linger)
        while self._pending:
            batch, self._pending = self._pending[: self._most], self._pending[self._most :]
            if len(batch) == 1:
                await self._one(*batch[0])
                continue
            try:
                await self._handle(StoreResponses(responses=[one for one, _ in batch]))
            except Exception:  # one of them may be at fault: each is stored on its own
                for command, done in batch:
                    await self._one(command, done)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _one(self, command: StoreResponse, done: asyncio.Future[None]) -> None:
        try:
            await self._handle(command)
        except Exception as error:
            if not done.done():
                done.set_exception(error)
        else:
            if not done.done():
                done.set_result(None)


def _retrieved(done: asyncio.Future[None]) -> None:
    """Its error is read even when its caller left before it was stored."""
    if not done.cancelled():
        done.exception()
