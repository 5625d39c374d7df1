"""What happens between a request's attempts (`Attempts`): an upstream failure fails over to
the next deployment the routing allows (the same one again, another of the model, a fallback
model), a content refusal to a `content_policy_fallbacks` model; each admitted anew when its
price differs, each attempt recorded as what it was. `Attempt` is the call of a request as it
stands, which these move on. Over 300 lines: the attempt, the two ways to a next one and the
refusal held at a stream's start belong together (they share the attempt's invariants).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, Protocol

import structlog

from application.providers.call import Call
from application.providers.completions.admit import CallAdmission, within_reservation
from application.providers.completions.request import CompletionRequest
from application.providers.routing.router import Failover, Router
from application.providers.stream_relay import capped_usage
from domains.providers.admission import Ticket
from domains.providers.content_refusal import refused
from domains.providers.errors import InvalidRequest, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.providers.output_limit import RequestKind, limited_body
from domains.providers.policy import NO_DECISION, Decision
from domains.providers.ports import ChatStream, Usage
from domains.providers.routing.deployment import DeploymentState
from domains.providers.routing.failover import counts_against_circuit, retry_after_seconds
from domains.shared.errors import DomainError

log = structlog.get_logger("fluxrouter.v1")

Shaped = tuple[dict[str, Any], RequestKind, dict[str, Any], RequestKind]
"""(the body to send, its shape, the body to admit, its shape)"""


class Recorder(Protocol):
    """Where a finished call goes (`recorder.CompletionRecorder`: batched to the outbox, off the
    request's path); billing and audit react to it."""

    def record(self, event: CompletionFinished) -> None: ...


class Attempt:
    """The call of a request as it stands: the deployment it goes to, in which shape, under
    which ticket (and the route that ticket was admitted for), and its failover once one
    failed."""

    __slots__ = (
        "admitted",
        "began",
        "body",
        "cache",
        "failed",
        "failover",
        "journaled",
        "kind",
        "policy",
        "reason",
        "route",
        "state",
        "ticket",
        "usage",
    )

    def __init__(
        self,
        state: DeploymentState,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        ticket: Ticket,
        policy: Decision = NO_DECISION,
    ) -> None:
        self.state = state
        self.route = route
        """What is called: the deployment's route (a model through a wildcard: by its name)."""
        self.kind: RequestKind = kind
        self.body = body
        self.ticket = ticket
        self.policy = policy
        self.reason: str | None = None
        """Why a virtual model chose the model, when one did."""
        self.admitted = route
        self.failover: Failover | None = None
        self.journaled = False
        self.began: float | None = None
        """When its first attempt started (the router's clock): the deadline counts from it."""
        self.failed = False
        """Every attempt failed, the last before its first byte: the stream ends in its error."""
        self.cache = "off"
        """What the response cache did for the request (`miss`, `refresh`, `off`)."""
        self.usage: Usage | None = None
        """The whole answer's usage, as the upstream reported it."""


HOLD_MOST = 64
"""Chunks of a stream held at most while they carry no output (a refusal may be among them)."""
REFUSAL_FELL_OVER = object()
REFUSAL_RECORDED = object()
REFUSAL_RELAYED = object()


class Attempts:
    """The next attempt of a request, after a failure or a content refusal (`shape`: the
    bodies a request is sent and admitted as, to a route)."""

    def __init__(
        self,
        router: Router,
        admission: CallAdmission,
        recorder: Recorder,
        shape: Callable[[CompletionRequest, ModelRoute], Shaped],
    ) -> None:
        self.router = router
        self._admission = admission
        self._recorder = recorder
        self._shape = shape

    async def failed_over(
        self,
        request: CompletionRequest,
        attempt: Attempt,
        call: Call,
        error: UpstreamError,
        *,
        finish: bool = True,
    ) -> bool:
        """The attempt failed: it is recorded, and the next is made ready (True), or there is
        none (False: the error is the caller's; with `finish`, the attempt is recorded and its
        ticket given back, else the caller does it)."""
        router = self.router
        now = router.clock()
        state = attempt.state
        state.failed(
            now,
            counts=counts_against_circuit(error.condition),
            retry_after=retry_after_seconds(error.retry_after),
        )
        state.ended(now, 0)
        failover = self.failover(request, attempt)
        failover.failed(
            f"content refusal ({error.status})" if error.content_refused else str(error.status)
        )
        step = failover.next(error)
        while step is not None:
            # the same deployment again: the same route (a wildcard's, by the name asked for)
            route = attempt.route if step.state is state else step.state.deployment.route
            shaped: tuple[dict[str, Any], RequestKind, dict[str, Any], RequestKind]
            try:
                if attempt.kind == "embeddings":
                    shaped = (request.body, "embeddings", request.body, "embeddings")
                else:
                    shaped = capped(self._shape(request, route), route, attempt.policy)
            except InvalidRequest:  # its provider cannot take this dialect
                step = failover.skip()
                continue
            sent, sent_as, admitted, admitted_as = shaped
            # this attempt is recorded as what it was; the next one is recorded on its own
            self._recorder.record(
                replace(call, event_id=None).finished(
                    error.status, "error", None, error_code=error.code
                )
            )
            log.info(
                "upstream.failover",
                provider=attempt.route.provider,
                model=attempt.route.name,
                status=error.status,
                next=step.state.name,
                wait=round(step.wait, 3),
            )
            if step.wait > 0:
                try:
                    await asyncio.sleep(step.wait)
                except BaseException:
                    attempt.ticket.release()
                    raise
            admitted_route = attempt.admitted
            if (route.provider, route.name) != (admitted_route.provider, admitted_route.name):
                # another price: admitted anew for it, the first reservation given back
                attempt.ticket.release()
                try:
                    attempt.ticket = await self._admission.admit(
                        request.caller, route, admitted, admitted_as
                    )
                except DomainError as refused:
                    log.info("upstream.failover_refused", next=step.state.name, reason=str(refused))
                    raise error from None
                attempt.admitted = route
                attempt.journaled = False
            attempt.state = step.state
            attempt.route = route
            attempt.kind = sent_as
            attempt.body = within_reservation(sent, route, attempt.ticket, sent_as)
            return True
        if finish:
            attempt.ticket.release()
            self._recorder.record(call.finished(error.status, "error", None, error_code=error.code))
        return False

    def failover(self, request: CompletionRequest, attempt: Attempt) -> Failover:
        """The request's failover, made at its first failure (or refusal)."""
        failover = attempt.failover
        if failover is None:
            policy = attempt.policy
            failover = attempt.failover = self.router.failover(
                request.caller,
                policy.model(request.model),
                attempt.state,
                stream=request.stream,
                began=attempt.began,
                permits=permits_of(policy),
            )
        return failover

    def may_refuse(self, request: CompletionRequest, attempt: Attempt) -> bool:
        """Whether a content refusal of this attempt has fallbacks to go to."""
        if attempt.kind == "embeddings":
            return False
        failover = attempt.failover
        model = failover.current if failover is not None else routed_name(request, attempt)
        return bool(self.router.refusal_fallbacks(model, attempt.state))

    async def after_refusal(self, request: CompletionRequest, attempt: Attempt) -> bool:
        """The attempt's answer was a content refusal (already recorded and settled as the
        answer it is): the next attempt is made ready on a `content_policy_fallbacks` model,
        admitted anew (True), or there is none (False: the refusal is the answer)."""
        failover = self.failover(request, attempt)
        step = failover.refused()
        while step is not None:
            route = step.state.deployment.route
            try:
                sent, sent_as, admitted, admitted_as = capped(
                    self._shape(request, route), route, attempt.policy
                )
            except InvalidRequest:  # its provider cannot take this dialect
                step = failover.skip()
                continue
            log.info(
                "upstream.content_refusal_fallback",
                provider=attempt.route.provider,
                model=attempt.route.name,
                next=step.state.name,
            )
            try:
                ticket = await self._admission.admit(request.caller, route, admitted, admitted_as)
            except DomainError as refused_here:
                log.info(
                    "upstream.failover_refused", next=step.state.name, reason=str(refused_here)
                )
                return False
            attempt.ticket = ticket
            attempt.admitted = route
            attempt.journaled = False
            attempt.state = step.state
            attempt.route = route
            attempt.kind = sent_as
            attempt.body = within_reservation(sent, route, ticket, sent_as)
            return True
        return False

    async def held_for_refusal(
        self,
        request: CompletionRequest,
        attempt: Attempt,
        call: Call,
        stream: ChatStream,
        chunks: AsyncIterator[bytes],
        first: bytes,
    ) -> tuple[object, bytes, AsyncIterator[bytes]]:
        """Nothing has reached the client yet: what the stream sends before its first output is
        held, so that a refusal there can still be answered by a fallback (`_stream_refused`).
        (what became of it, the held bytes to send first, the chunks to relay after them)"""
        held, failure = await _held(stream, chunks, first)
        payload = b"".join(held)
        if failure is not None:
            return REFUSAL_RELAYED, payload, raising(failure)
        if not refused(payload):
            return REFUSAL_RELAYED, payload, chunks
        after = await self._stream_refused(request, attempt, call, stream)
        return after, payload, chunks

    async def _stream_refused(
        self, request: CompletionRequest, attempt: Attempt, call: Call, stream: ChatStream
    ) -> object:
        """A stream refused before its first byte reached the client: when a fallback may
        answer, the stream is closed and recorded as the answer it was, then the fallback is
        made ready (`REFUSAL_FELL_OVER`, or `REFUSAL_RECORDED` if none could be admitted);
        else nothing is done (`REFUSAL_RELAYED`: the refusal is relayed as it is)."""
        failover = self.failover(request, attempt)
        if not failover.has_refusal_fallback():
            return REFUSAL_RELAYED
        await stream.aclose()
        tally = stream.tally
        usage, reported = capped_usage(
            tally.usage or Usage(), attempt.ticket.reserved, tally.usage is not None
        )
        attempt.state.ended(self.router.clock(), usage.input_tokens + usage.output_tokens)
        attempt.ticket.settle(usage)
        event = call.finished(200, "ok", usage, usage_reported=reported)
        self._recorder.record(event)
        if await self.after_refusal(request, attempt):
            return REFUSAL_FELL_OVER
        if request.observe is not None:  # the refusal is the stream's answer after all
            request.observe(event)
        return REFUSAL_RECORDED


async def _held(
    stream: ChatStream, chunks: AsyncIterator[bytes], first: bytes
) -> tuple[list[bytes], UpstreamError | None]:
    """The stream's chunks up to its first output (or its end), and the failure that ended
    them if one did."""
    held = [first]
    tally = stream.tally
    while tally.output_chars == 0 and not tally.finished and len(held) < HOLD_MOST:
        try:
            held.append(await anext(chunks))
        except StopAsyncIteration:
            break
        except UpstreamError as error:
            return held, error
    return held, None


async def raising(error: UpstreamError) -> AsyncIterator[bytes]:
    """A stream that fails at once with `error`."""
    raise error
    yield b""  # pragma: no cover - makes this an async generator


def routed_name(request: CompletionRequest, attempt: Attempt) -> str:
    """The name the router chose a deployment of: the model a virtual model chose, or the one
    asked for (or forced by a rule)."""
    if attempt.reason is not None:
        return attempt.route.name
    return attempt.policy.model(request.model)


def permits_of(policy: Decision) -> Callable[[ModelRoute], bool] | None:
    """Whether the policies let a deployment serve the request (None: any may)."""
    if not policy.rules:
        return None
    return lambda route: policy.refusal(route) is None


def capped(
    shaped: tuple[dict[str, Any], RequestKind, dict[str, Any], RequestKind],
    route: ModelRoute,
    policy: Decision,
) -> tuple[dict[str, Any], RequestKind, dict[str, Any], RequestKind]:
    """The shaped bodies (to send, to admit) asking for no more output than a policy's
    `max_tokens` allows: admission then reserves no more, and the upstream is asked no more."""
    cap = policy.max_tokens
    if cap is None:
        return shaped
    body, sent_as, admitted, admitted_as = shaped
    newer = route.kind == "openai"
    return (
        limited_body(body, kind=sent_as, reserved=cap, newer_field=newer),
        sent_as,
        limited_body(admitted, kind=admitted_as, reserved=cap, newer_field=newer),
        admitted_as,
    )
