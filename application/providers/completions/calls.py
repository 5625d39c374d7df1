"""call → settle → record, for one request (`UpstreamCalls`): a whole answer, or a stream
handed to `stream_relay.relay` to settle and record when it ends; each attempt journaled as it
goes upstream, a failed one handed to `attempts.Attempts` for the next.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping

from application.providers.call import Call, Endpoint
from application.providers.completions.attempts import (
    REFUSAL_FELL_OVER,
    REFUSAL_RECORDED,
    Attempt,
    Attempts,
    Recorder,
    raising,
    routed_name,
)
from application.providers.completions.request import CompletionRequest
from application.providers.completions.upstream import Upstream
from application.providers.journal import JournaledTicket
from application.providers.routing.router import ROUTE_HEADER, Router
from application.providers.stream_relay import (
    CUT_CHARS_PER_TOKEN,
    CutEnding,
    capped_usage,
    openai_sse_cut,
    openai_sse_error,
    relay,
)
from domains.providers.caller_metadata import end_user_of, metadata_of
from domains.providers.content_refusal import refused
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.ports import Usage
from domains.providers.routing.deployment import DeploymentState

NO_HEADERS: Mapping[str, str] = {}


class UpstreamCalls:
    def __init__(
        self, upstream: Upstream, router: Router, recorder: Recorder, attempts: Attempts
    ) -> None:
        self._upstream = upstream
        self.router = router
        self._recorder = recorder
        self._attempts = attempts

    async def answer(
        self, request: CompletionRequest, attempt: Attempt, endpoint: Endpoint
    ) -> bytes:
        """call → settle → record, for a whole answer; a failed call tried again as the routing
        says (`_failed_over`), each attempt recorded."""
        headers = request.dialect.headers if request.dialect is not None else NO_HEADERS
        clock = self.router.clock
        while True:
            state, kind, ticket = attempt.state, attempt.kind, attempt.ticket
            route = attempt.route
            call = self._going_upstream(request, attempt, endpoint, stream=False)
            started = clock()
            if attempt.began is None:
                attempt.began = started
            state.started(started)
            try:
                reply = await self._upstream.answer(route, kind, attempt.body, headers)
            except UpstreamError as error:
                if await self._attempts.failed_over(request, attempt, call, error):
                    continue
                raise
            except BaseException:  # timed out, or the client went away
                state.ended(clock(), 0)
                ticket.release()
                raise
            usage, reported = capped_usage(reply.usage or Usage(), ticket.reserved, True)
            now = clock()
            state.succeeded(now, now - started, first_byte=False)
            state.ended(now, usage.input_tokens + usage.output_tokens)
            ticket.settle(usage)
            self._recorder.record(
                call.finished(200, "ok", usage, usage_reported=reported, response=reply.body)
            )
            attempt.usage = usage if reported else None
            if (
                self._attempts.may_refuse(request, attempt)
                and refused(reply.body)
                and await self._attempts.after_refusal(request, attempt)
            ):
                continue  # the refusal was recorded as the answer it is; the fallback now
            return reply.body

    async def stream(self, request: CompletionRequest, attempt: Attempt) -> AsyncIterator[bytes]:
        """call, then the stream to relay: it settles and records when it ends
        (`stream_relay.relay`). The upstream's errors before the stream's first chunk fail over
        as a whole answer's do; after it, the stream ends with the error in its dialect."""
        clock = self.router.clock
        while True:
            state, kind, ticket, body = attempt.state, attempt.kind, attempt.ticket, attempt.body
            route = attempt.route
            call = self._going_upstream(request, attempt, "chat", stream=True)
            idle = self.router.stream_idle(route.provider)
            on_error, on_cut, headers = _endings(request, attempt, idle)
            started = clock()
            if attempt.began is None:
                attempt.began = started
            state.started(started)
            try:
                stream = await self._upstream.open_stream(
                    route, kind, body, headers, include_usage=request.include_usage
                )
            except UpstreamError as error:
                if await self._attempts.failed_over(request, attempt, call, error):
                    continue
                raise
            except BaseException:
                state.ended(clock(), 0)
                ticket.release()
                raise
            if ticket.reserved is not None:  # the adapter passes on nothing read past it
                stream.tally.most_chars = ticket.reserved[1] * CUT_CHARS_PER_TOKEN
            chunks = aiter(stream)
            try:  # the first chunk, before anything reaches the client
                first: bytes | None = await anext(chunks)
            except StopAsyncIteration:
                first = None
            except UpstreamError as error:
                await stream.aclose()  # (closing it again, as the relay does, changes nothing)
                if await self._attempts.failed_over(request, attempt, call, error, finish=False):
                    continue
                # nowhere else to go: the stream ends with the error, in its dialect
                attempt.failed = True
                return relay(
                    stream,
                    call,
                    body,
                    self.told(request),
                    on_error,
                    ticket,
                    on_cut,
                    chunks=raising(error),
                )
            except BaseException:
                await stream.aclose()
                state.ended(clock(), 0)
                ticket.release()
                raise
            first_at = time.perf_counter()
            now = clock()
            state.succeeded(now, now - started, first_byte=True)
            if first is not None and self._attempts.may_refuse(request, attempt):
                after, first, chunks = await self._attempts.held_for_refusal(
                    request, attempt, call, stream, chunks, first
                )
                if after is REFUSAL_FELL_OVER:
                    continue
                if after is REFUSAL_RECORDED:  # no fallback could be admitted after all
                    return _replayed(first)
            record = self._stream_record(request, state)
            return relay(
                stream,
                call,
                body,
                record,
                on_error,
                ticket,
                on_cut,
                chunks=chunks,
                first=first,
                idle=idle,
                first_at=first_at,
            )

    def _stream_record(
        self, request: CompletionRequest, state: DeploymentState
    ) -> Callable[[CompletionFinished], None]:
        """What records the stream's call when it ends: the deployment is told too (no longer
        in flight, its tokens, a failure mid-way counted against its circuit)."""
        to_recorder = self._recorder.record
        told = request.observe
        clock = self.router.clock

        def record(event: CompletionFinished) -> None:
            now = clock()
            state.ended(now, event.input_tokens + event.output_tokens)
            if event.outcome == "error":
                state.failed(now, counts=True)
            to_recorder(event)
            if told is not None:
                told(event)

        return record

    def told(self, request: CompletionRequest) -> Callable[[CompletionFinished], None]:
        """The recorder, and the request's observer if it has one."""
        to_recorder, told = self._recorder.record, request.observe
        if told is None:
            return to_recorder

        def record(event: CompletionFinished) -> None:
            to_recorder(event)
            told(event)

        return record

    def _going_upstream(
        self, request: CompletionRequest, attempt: Attempt, endpoint: Endpoint, *, stream: bool
    ) -> Call:
        """The call about to go upstream, journaled as started when its ticket journals (its
        first attempt: a later one under the same ticket is recorded under an id of its own)."""
        ticket = attempt.ticket
        journaled = ticket if isinstance(ticket, JournaledTicket) else None
        failover = attempt.failover
        state = attempt.state
        body = request.body
        dialect = request.dialect
        call = Call(
            request.caller,
            request.request_id,
            attempt.route,
            endpoint,
            stream=stream,
            transport=request.transport,
            event_id=journaled.call_id if journaled is not None else None,
            requested=request.model,
            dialect=dialect.kind
            if dialect is not None
            else "ws"
            if request.transport == "websocket"
            else endpoint,
            deployment=state.name,
            metadata=metadata_of(body),
            end_user=end_user_of(body),
            cache=attempt.cache,
            prompt=body if request.caller.log_bodies else None,
            reason=(attempt.reason + "; " if attempt.reason is not None else "")
            + (
                failover.explanation()
                if failover is not None
                else f"wildcard {attempt.route.qualified_name}"
                if attempt.route.wildcard
                else self.router.headers(routed_name(request, attempt), state)[ROUTE_HEADER]
            ),
        )
        if journaled is not None and not attempt.journaled:
            journaled.start(call)
            attempt.journaled = True
        return call


async def _replayed(payload: bytes) -> AsyncIterator[bytes]:
    """What a closed stream had sent, as the client's stream."""
    yield payload


def _endings(
    request: CompletionRequest, attempt: Attempt, idle: float | None
) -> tuple[Callable[[UpstreamError], bytes], CutEnding, Mapping[str, str]]:
    """How the attempt's stream tells an error mid-way and ends when cut (at its reservation, or
    quiet for `idle` seconds), in its dialect; and the client's protocol headers to pass on."""
    dialect = request.dialect
    if attempt.kind != "chat" and dialect is not None:
        return dialect.stream_error, dialect.stream_cut, dialect.headers
    if attempt.ticket.reserved is None and idle is None:
        return openai_sse_error, _never_cut, NO_HEADERS
    choices = attempt.body.get("n")
    on_cut = openai_sse_cut(
        f"chatcmpl-{request.request_id}",
        attempt.route.upstream,
        choices if isinstance(choices, int) and choices > 1 else 1,
        request.include_usage,
    )
    return openai_sse_error, on_cut, NO_HEADERS


def _never_cut(usage: Usage) -> bytes:
    """The cut ending of a stream that nothing reserved for, so that is never cut."""
    raise AssertionError("a stream with no reservation is never cut")
