"""One generation on a WebSocket connection, from `chat.start` to `chat.done`, `chat.cancelled`
or `error`.

It takes the road `/v1/chat/completions` takes: the caller is authenticated again, and the
completion pipeline (`application.providers.completions.pipeline`) routes the model, admits the
request against budgets and rate limits and streams it, recording and settling the call however
it ends. Its deltas are passed on as they arrive. When a cancel may interrupt it is
`cancellation`'s; how its turn is stored in a conversation, `turn_keeping`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.providers.completions.request import Withdrawn
from domains.providers.events import CompletionFinished
from domains.shared.ids import new_id
from interfaces.http.errors import ApiError
from interfaces.ws.cancellation import Cancellation, Stopped
from interfaces.ws.chat_request import ChatRequest, prepare
from interfaces.ws.credentials import CLOSE_UNAUTHENTICATED, Recheck
from interfaces.ws.errors import error_out, stream_failure
from interfaces.ws.messages import (
    ChatCancelled,
    ChatDelta,
    ChatDone,
    ChatStart,
    rate_limits_of,
    routing_of,
)
from interfaces.ws.sender import Sender
from interfaces.ws.services import ChatServices
from interfaces.ws.stream_reader import Reply, StreamReader, close_stream
from interfaces.ws.turn_keeping import Kept, keep_turn
from interfaces.ws.usage import usage_out


@dataclass(frozen=True, slots=True)
class Session:
    """What every generation of one connection shares."""

    services: ChatServices
    sender: Sender
    recheck: Recheck


class Generation:
    def __init__(self, session: Session, start: ChatStart, raw: dict[str, Any]) -> None:
        self.id = start.id
        self.request_id = new_id()
        self._session = session
        self._start = start
        self._raw = raw
        self.cancellation = Cancellation()  # asked by the connection
        self._finished: CompletionFinished | None = None
        self._reply = Reply()
        self._chat: ChatRequest | None = None
        self._rate_limits: dict[str, str] | None = None  # the admission's, once admitted
        self._routing: dict[str, str] | None = None  # how it was routed, once it streams

    def start(self) -> asyncio.Task[None]:
        """Runs the generation in its own task (the one a cancel interrupts while it streams)."""
        self.cancellation.task = task = asyncio.create_task(self.run(), name="ws-generation")
        return task

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self.cancellation.absorb():
                raise  # not ours to absorb (the server is stopping)
            await self._cancelled()
        except (Stopped, Withdrawn):
            await self._cancelled()
        except Exception as error:
            self.cancellation.finishing()
            await self._session.sender.send(error_out(error, self.id))

    async def _run(self) -> None:
        services, sender = self._session.services, self._session.sender
        caller = await self._session.recheck()
        if caller is None:
            refused = ApiError(401, "The key was revoked or has expired.", code="invalid_api_key")
            await sender.send(error_out(refused, self.id))
            await sender.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
            return
        self._chat = chat = await prepare(services, caller, self._start, self._raw)
        self.cancellation.check()
        answer = await services.completions.complete(
            chat.completion(
                caller,
                self.request_id,
                self._start.model,
                on_admitted=self._admitted,
                observe=self._observe,
            )
        )
        chunks = answer.chunks
        assert chunks is not None  # asked for a stream
        self._routing = routing_of(answer.headers)
        reader = StreamReader()
        self._reply = reader.reply
        try:
            async for data in chunks:
                for delta in reader.feed(data):
                    await sender.send(ChatDelta(id=self.id, delta=delta))
        finally:  # a cancel while a delta waits for room still ends the upstream call here
            await close_stream(chunks)
        self.cancellation.finishing()
        await self._ended(reader)

    def _admitted(self, headers: Mapping[str, str]) -> bool:
        """Admitted: streams from now on, unless a cancel came while it waited."""
        self._rate_limits = rate_limits_of(headers)
        return self.cancellation.admitted()

    async def _ended(self, reader: StreamReader) -> None:
        sender, finished = self._session.sender, self._finished
        if (failure := stream_failure(reader.error, finished, self.id, self._routing)) is not None:
            await sender.send(failure)
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
                routing=self._routing,
            )
        )

    async def _cancelled(self) -> None:
        self.cancellation.finishing()
        kept = await self._keep("cancelled") if not self._reply.empty else Kept()
        if self.cancellation.by_client:
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
        return await keep_turn(
            self._session.services,
            self._chat,
            self._reply,
            finish_reason,
            request_id=self.request_id,
            generation_id=self.id,
        )

    def _observe(self, event: CompletionFinished) -> None:
        self._finished = event
