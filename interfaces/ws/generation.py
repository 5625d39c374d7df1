"""One generation on a WebSocket connection, from `chat.start` to `chat.done`, `chat.cancelled`
or `error`.

It takes the road `/v1/chat/completions` takes: the caller is authenticated again, and the
completion pipeline (`application.providers.completions.pipeline`) routes the model, admits the
request against budgets and rate limits and streams it, recording and settling the call however
it ends. Its deltas are passed on as they arrive.

A cancel interrupts the generation only while it streams (opening the upstream included): the
upstream connection is closed at once and the call is settled to what was produced. Before that
(reading a conversation, admission) the cancel is noted and honoured at the next step, so a
reservation or a transaction is never cut in half; after it, the generation is finishing anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from application.providers.completions.request import CompletionRequest, Withdrawn
from domains.providers.events import CompletionFinished
from domains.shared.ids import new_id
from interfaces.bootstrap import Container
from interfaces.http.errors import ApiError
from interfaces.ws.chat_request import ChatRequest, prepare
from interfaces.ws.credentials import CLOSE_UNAUTHENTICATED, Recheck
from interfaces.ws.errors import error_out
from interfaces.ws.messages import (
    ChatCancelled,
    ChatDelta,
    ChatDone,
    ChatStart,
    ErrorOut,
    rate_limits_of,
)
from interfaces.ws.sender import Sender
from interfaces.ws.stream_reader import Reply, StreamReader
from interfaces.ws.usage import usage_out

Phase = Literal["preparing", "streaming", "finishing"]


@dataclass(frozen=True, slots=True)
class Session:
    """What every generation of one connection shares."""

    container: Container
    sender: Sender
    recheck: Recheck


@dataclass(frozen=True, slots=True)
class Kept:
    """Where a turn was stored, or why it could not be."""

    conversation_id: str | None = None
    error: dict[str, Any] | None = None


class _Stopped(Exception):
    """A cancel noted before the generation reached its stream."""


class Generation:
    def __init__(self, session: Session, start: ChatStart, raw: dict[str, Any]) -> None:
        self.id = start.id
        self.request_id = new_id()
        self._session = session
        self._start = start
        self._raw = raw
        self._phase: Phase = "preparing"
        self._finished: CompletionFinished | None = None
        self._reply = Reply()
        self._chat: ChatRequest | None = None
        self._rate_limits: dict[str, str] | None = None  # the admission's, once admitted
        self.cancel_requested = False
        self.by_client = False
        self.task: asyncio.Task[None] | None = None

    def cancel(self, *, by_client: bool) -> None:
        """Stops the generation: at once while it streams, else at its next step."""
        if self.cancel_requested:
            return
        self.cancel_requested, self.by_client = True, by_client
        if self._phase == "streaming" and self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self.cancel_requested:
                raise  # not ours to absorb (the server is stopping)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._cancelled()
        except (_Stopped, Withdrawn):
            await self._cancelled()
        except Exception as error:
            self._phase = "finishing"
            await self._session.sender.send(error_out(error, self.id))

    async def _run(self) -> None:
        container, sender = self._session.container, self._session.sender
        caller = await self._session.recheck()
        if caller is None:
            refused = ApiError(401, "The key was revoked or has expired.", code="invalid_api_key")
            await sender.send(error_out(refused, self.id))
            await sender.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
            return
        self._chat = chat = await prepare(container, caller, self._start, self._raw)
        if self.cancel_requested:
            raise _Stopped
        answer = await container.completions.complete(
            CompletionRequest(
                caller=caller,
                request_id=self.request_id,
                model=self._start.model,
                body=chat.body,
                stream=True,
                include_usage=True,
                transport="websocket",
                prompt_log="ws.prompt",
                on_admitted=self._admitted,
                observe=self._observe,
            )
        )
        chunks = answer.chunks
        assert chunks is not None  # asked for a stream
        reader = StreamReader()
        self._reply = reader.reply
        try:
            async for data in chunks:
                for delta in reader.feed(data):
                    await sender.send(ChatDelta(id=self.id, delta=delta))
        finally:  # a cancel while a delta waits for room still ends the upstream call here
            await _close(chunks)
        self._phase = "finishing"
        await self._ended(reader)

    def _admitted(self, headers: Mapping[str, str]) -> bool:
        """Admitted: streams from now on, unless a cancel came while it waited."""
        self._rate_limits = rate_limits_of(headers)
        if self.cancel_requested:
            return False
        self._phase = "streaming"
        return True

    async def _ended(self, reader: StreamReader) -> None:
        sender, finished = self._session.sender, self._finished
        if reader.error is not None:
            status = finished.status if finished is not None else 502
            await sender.send(ErrorOut(error=reader.error, status=status, id=self.id))
            return
        if finished is None or finished.outcome != "ok":
            cut = ApiError(
                502, "The upstream ended the stream before it finished.", code="upstream_error"
            )
            await sender.send(error_out(cut, self.id))
            return
        kept = await self._keep(reader.finish_reason)
        await sender.send(
            ChatDone(
                id=self.id,
                finish_reason=reader.finish_reason,
                usage=usage_out(finished),
                request_id=self.request_id,
                conversation_id=kept.conversation_id,
                conversation_error=kept.error,
                rate_limits=self._rate_limits,
            )
        )

    async def _cancelled(self) -> None:
        self._phase = "finishing"
        kept = await self._keep("cancelled") if not self._reply.empty else Kept()
        if self.by_client:
            await self._session.sender.send(
                ChatCancelled(
                    id=self.id,
                    usage=usage_out(self._finished),
                    request_id=self.request_id,
                    conversation_id=kept.conversation_id,
                    conversation_error=kept.error,
                    rate_limits=self._rate_limits,
                )
            )

    async def _keep(self, finish_reason: str | None) -> Kept:
        """Stores the turn in its conversation, if it has one."""
        chat = self._chat
        if chat is None or chat.conversation is None:
            return Kept()
        try:
            stored = await chat.conversation.keep(
                self._session.container, self._reply.message(), finish_reason, self.request_id
            )
        except Exception as error:  # the generation stands; only the record of it failed
            return Kept(error=error_out(error, self.id).error)
        return Kept(conversation_id=stored)

    def _observe(self, event: CompletionFinished) -> None:
        self._finished = event


async def _close(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
