"""Calls that come in while another is in flight go together in the next one.

When nothing is in flight a call is sent at once, by its caller, on its own: a quiet gateway
pays nothing for batching. Calls made meanwhile queue, and when the one in flight returns they
are sent together (at most `most` at a time) by a background task, which sends whatever queued
meanwhile next, and so on until none is left. Each caller gets its own answer, or the error of
the call its item went in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class CallBatches(Generic[Item, Answer]):
    def __init__(
        self, send: Callable[[list[Item]], Awaitable[Sequence[Answer]]], *, most: int = 16
    ) -> None:
        if most < 1:
            raise ValueError("a batch holds at least one call")
        self._send, self._most = send, most
        self._queue: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._busy = False
        self._sender: asyncio.Task[None] | None = None

    async def call(self, item: Item) -> Answer:
        if self._busy:
            answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            self._queue.append((item, answer))
            return await answer
        self._busy = True
        try:
            answers = await self._send([item])
        finally:
            self._next()
        return answers[0]

    def _next(self) -> None:
        """Starts sending what queued, or marks nothing in flight."""
        if self._queue:
            self._sender = asyncio.ensure_future(self._send_queued())
        else:
            self._busy, self._sender = False, None

    async def _send_queued(self) -> None:
        batch, self._queue = self._queue[: self._most], self._queue[self._most :]
        try:
            answers = await self._send([item for item, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to {len(batch)} calls")
        except Exception as error:
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
        except BaseException:  # cancelled: nothing is sent any more
            for _, answer in [*batch, *self._queue]:
                answer.cancel()
            self._queue, self._busy, self._sender = [], False, None
            raise
        else:
            for (_, answer), result in zip(batch, answers, strict=True):
                if not answer.done():
                    answer.set_result(result)
        self._next()
