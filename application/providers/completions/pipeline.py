"""The completion pipeline: one call to a model, from the request a front door decoded to the
record of how it ended, whatever dialect it arrived in (`/v1/chat/completions`, `/v1/messages`,
`/v1/embeddings`, a WebSocket `chat.start`).

    route → (log the prompt) → admit → call → settle → record

`CompletionPipeline.complete` reads as that line; each step is one name:

- route: the routing policies decide first (`domains.providers.policy`: a rule may force another
  model, cap the output, or refuse with `PolicyDenied`); a virtual model (`auto`, `cheap`...)
  becomes the concrete model it chooses for this caller and prompt among those the key and the
  policies allow (`virtual.VirtualModels`), with the reason it chose it; then the catalog
  resolves the model and the caller's key may use it or not (`ModelNotAllowed`).
- admit: `admit.CallAdmission`, the estimate and the `Admission` port (budgets, rate limits):
  a refusal is the caller's 429 or 403 before any upstream call; else a ticket, reserved.
- call: `upstream.Upstream`, the seam where retries, fallbacks and the cache plug in.
- settle and record: a plain answer here, at once; a stream in `stream_relay.relay`, when it
  ends however it ends (finished, failed, cut at its reservation, or closed: the client left).
  A call that failed or never started gives its ticket back (`release`) instead.

Where an upstream failure becomes the caller's status (an upstream 429 becomes the client's 429):
`domains.providers.upstream_failures`, the one table every front door answers from.

Front doors never see the ticket or the recorder: the `Completion` carries the admission's
headers (`x-ratelimit-*`) for the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

import msgspec
import structlog

from application.providers.call import Call, Endpoint
from application.providers.completions.admit import CallAdmission, within_reservation
from application.providers.completions.cache import (
    OFF,
    ResponseCache,
    usage_of,
    without_cache_option,
)
from application.providers.completions.request import Completion, CompletionRequest, Withdrawn
from application.providers.completions.upstream import Upstream
from application.providers.completions.virtual import VIRTUAL_PROVIDER, Routed, VirtualModels
from application.providers.journal import JournaledTicket
from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import (
    ROUTE_HEADER,
    Failover,
    Router,
    ascii_header,
    route_headers,
)
from application.providers.stream_relay import (
    CUT_CHARS_PER_TOKEN,
    CutEnding,
    capped_usage,
    openai_sse_cut,
    openai_sse_error,
    relay,
)
from domains.providers.admission import Ticket
from domains.providers.caller_metadata import end_user_of, metadata_of
from domains.providers.content_refusal import refused
from domains.providers.errors import InvalidRequest, ModelNotAllowed, UnknownModel, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import WILDCARD, Catalog, ModelRoute
from domains.providers.output_limit import NativeKind, RequestKind, limited_body
from domains.providers.policy import NO_DECISION, NO_POLICIES, Decision, Policies
from domains.providers.ports import ChatStream, Usage
from domains.providers.response_cache import CACHE_HEADER, SIMILARITY_HEADER, CachedAnswer
from domains.providers.routing.deployment import Deployment, DeploymentState
from domains.providers.routing.failover import counts_against_circuit, retry_after_seconds
from domains.shared.caller import Caller
from domains.shared.errors import DomainError

log = structlog.get_logger("fluxrouter.v1")

NO_HEADERS: Mapping[str, str] = {}


class Recorder(Protocol):
    """Where a finished call goes (`recorder.CompletionRecorder`: batched to the outbox, off the
    request's path); billing and audit react to it."""

    def record(self, event: CompletionFinished) -> None: ...


class CompletionPipeline:
    def __init__(
        self,
        catalog: Catalog,
        admission: CallAdmission,
        upstream: Upstream,
        recorder: Recorder,
        *,
        log_prompts: bool = False,
        policies: Policies = NO_POLICIES,
        virtual: VirtualModels | None = None,
        router: Router | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self._cache = cache
        self._policies = policies
        self._catalog = catalog
        self._virtual = virtual
        self._admission = admission
        self._upstream = upstream
        self._recorder = recorder
        self._log_prompts = log_prompts
        self.router = router or Router(
            (Deployment(route) for route in catalog.routes()), RoutingPolicy(retries=0)
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """A chat completion (or a message, a response... in the request's dialect), plain or
        streamed."""
        request, option = without_cache_option(request)
        # route: which deployment, and in which shape the body goes (a dialect natively to a
        # provider that speaks it, else as chat: a bad body is refused before admission)
        routed = request.routed or self.resolve(request.caller, request.model, request.body)
        policy = routed.policy
        try:
            state, route = self._deployment(
                request.caller, request.model, routed, stream=request.stream
            )
        except UpstreamError as error:  # none available: why, after the virtual model's reason
            said = error.route_headers.get(ROUTE_HEADER)
            if said is not None and routed.reason is not None:
                error.route_headers = {ROUTE_HEADER: ascii_header(f"{routed.reason}; {said}")}
            raise
        body, sent_as, admitted, admitted_as = _capped(self._shape(request, route), route, policy)
        if self._log_prompts and request.prompt_log is not None:
            log.info(request.prompt_log, model=request.model, messages=admitted.get("messages"))
        # the cache: the tenant and the model known, a hit reserves nothing and calls no one
        lookup, cache = OFF, self._cache
        if cache is not None:
            lookup = cache.consider(request, route, option)
            if lookup.reads and (found := await cache.find(lookup)) is not None:
                if request.on_admitted is not None and not request.on_admitted(NO_HEADERS):
                    raise Withdrawn(NO_HEADERS)  # (nothing was reserved: nothing to give back)
                return self._hit(request, state, route, *found, cache)
        ended: list[CompletionFinished] = []
        if lookup.stores and request.stream:  # what the stream's record says, once it ended
            request = _observed(request, ended.append)
        # admit: budgets and rate limits reserve, or refuse before anything goes upstream
        ticket = await self._admission.admit(request.caller, route, admitted, admitted_as, sent_as)
        if request.on_admitted is not None and not request.on_admitted(ticket.headers):
            ticket.release()
            raise Withdrawn(ticket.headers)
        body = within_reservation(body, route, ticket, sent_as)
        attempt = Attempt(state, route, sent_as, body, ticket, policy)
        attempt.reason = routed.reason
        attempt.cache = lookup.verdict
        # call → settle → record: a stream settles and records when it ends
        try:
            if request.stream:
                chunks = await self._stream(request, attempt)
                if cache is not None and lookup.stores and not attempt.failed:
                    native = attempt.kind not in ("chat", "embeddings")
                    chunks = cache.storing(lookup, attempt.route, chunks, ended, native=native)
                return self._completion(request, attempt, chunks=chunks, reason=routed.reason)
            answer = await self._answer(request, attempt, "chat")
        except UpstreamError as error:  # every attempt failed: the error says which were made
            error.route_headers = self._routed(request, attempt, routed.reason, failed=error)
            raise
        if cache is not None and lookup.stores and not refused(answer):
            native = attempt.kind not in ("chat", "embeddings")
            await cache.store(
                lookup, attempt.route, native=native, payload=answer, usage=attempt.usage
            )
        return self._completion(request, attempt, body=answer, reason=routed.reason)

    def _hit(
        self,
        request: CompletionRequest,
        state: DeploymentState,
        route: ModelRoute,
        found: CachedAnswer,
        similarity: float | None,
        cache: ResponseCache,
    ) -> Completion:
        """The stored answer, replayed in the shape it was stored (the front door translates it
        as it would a live one), recorded as a hit (`semantic_hit` when it answered a similar
        question, `similarity` its cosine): billed nothing, with the usage it saved."""
        body, chunks = cache.replayed(found)
        verdict = "hit" if similarity is None else "semantic_hit"
        said = "hit" if similarity is None else "semantic hit"
        dialect = request.dialect
        call = Call(
            request.caller,
            request.request_id,
            route,
            "chat",
            stream=request.stream,
            transport=request.transport,
            requested=request.model,
            dialect=dialect.kind
            if dialect is not None
            else "ws"
            if request.transport == "websocket"
            else "chat",
            deployment=state.name,
            metadata=metadata_of(request.body),
            end_user=end_user_of(request.body),
            reason=f"cache {said} {route.qualified_name}",
            cache=verdict,
        )
        self._told(request)(call.finished(200, "ok", usage_of(found)))
        headers = {**route_headers(route, call.reason), CACHE_HEADER: verdict.replace("_", "-")}
        if similarity is not None:
            headers[SIMILARITY_HEADER] = f"{similarity:.3f}"
        return Completion(
            route=route, headers=headers, body=body, chunks=chunks, native=found.native
        )

    async def embed(self, request: CompletionRequest) -> Completion:
        """Embeddings: the same line, always a plain answer."""
        policy = self._policies.decide_for(request.caller, request.model, None)
        state, route = self._first(request.caller, request.model, policy)
        ticket = await self._admission.admit(request.caller, route, request.body, "embeddings")
        attempt = Attempt(state, route, "embeddings", request.body, ticket, policy)
        try:
            body = await self._answer(request, attempt, "embeddings")
        except UpstreamError as error:
            error.route_headers = self._routed(request, attempt, None, failed=error)
            raise
        return self._completion(request, attempt, body=body)

    def _routable(self, caller: Caller, requested: str, policy: Decision) -> ModelRoute:
        """`route_for`, but a model of several deployments is refused only when the caller's key
        may use none of them, or the policies refuse every one (`PolicyDenied`)."""
        model = policy.model(requested)
        router = self.router
        if len(router.routes(model)) < 2:
            return self.route_for(caller, requested, policy)
        allowed = router.group(model).allowed(caller)
        if not allowed:
            raise ModelNotAllowed(model)
        return policy.filter([state.deployment.route for state in allowed])[0]

    def _deployment(
        self, caller: Caller, requested: str, routed: Routed, *, stream: bool = False
    ) -> tuple[DeploymentState, ModelRoute]:
        """The deployment the call goes first to, and what is called there, for the model
        `resolve` found: one of its deployments the key and the policies let serve it, chosen
        by the router (a virtual model's choice too: any deployment of the model it chose); a
        model through a wildcard, on the wildcard's deployment."""
        route, policy = routed.route, routed.policy
        router = self.router
        if route.wildcard:
            wildcard = router.state(f"{route.provider}/{WILDCARD}")
            return (wildcard if wildcard is not None else router.adopt(route)), route
        model = route.name if routed.reason is not None else policy.model(requested)
        if not router.routes(model):
            return router.adopt(route), route
        state = router.first(caller, model, stream=stream, permits=_permits(policy))
        return state, state.deployment.route

    def _first(
        self, caller: Caller, requested: str, policy: Decision, *, stream: bool = False
    ) -> tuple[DeploymentState, ModelRoute]:
        """The deployment a call goes to first, and what is called there: one of the model's
        deployments the caller's key and the policies let serve it (`Router.first`), or a
        model through a provider's wildcard (the catalog's route, the wildcard's deployment)."""
        model = policy.model(requested)
        router = self.router
        if not router.routes(model):
            route = self.route_for(caller, requested, policy)  # a wildcard's, or unknown
            state = router.state(f"{route.provider}/{WILDCARD}")
            if state is None:  # (a catalog of routes the router was not built from)
                state = router.adopt(route)
            return state, route
        permits = _permits(policy)
        if permits is not None:
            allowed = router.group(model).allowed(caller)
            if allowed:  # none: the key may not use it, which the router says
                policy.filter([state.deployment.route for state in allowed])
        state = router.first(caller, model, stream=stream, permits=permits)
        return state, state.deployment.route

    def _completion(
        self,
        request: CompletionRequest,
        attempt: Attempt,
        *,
        body: bytes = b"",
        chunks: AsyncIterator[bytes] | None = None,
        reason: str | None = None,
    ) -> Completion:
        """The answer, with the caller's limits and how it was routed in its headers."""
        served = attempt.route
        routed = self._routed(request, attempt, reason)
        limits = attempt.ticket.headers
        headers = {**limits, **routed} if limits else routed
        if self._cache is not None:  # what the cache did (`off` too), when there is one
            headers = {**headers, CACHE_HEADER: attempt.cache}
        return Completion(
            route=served,
            headers=headers,
            body=body,
            chunks=chunks,
            native=attempt.kind not in ("chat", "embeddings"),
            route_reason=reason,
        )

    def _routed(
        self,
        request: CompletionRequest,
        attempt: Attempt,
        reason: str | None,
        *,
        failed: UpstreamError | None = None,
    ) -> Mapping[str, str]:
        """The `x-fluxrouter-*` headers of the answer (`failed`: of the error the request ends
        in, every attempt having failed): the deployment of the last attempt, and why it was
        called (or which attempts failed), after a virtual model's reason when one chose."""
        failover = attempt.failover
        served = attempt.route
        if failover is not None and (failed is not None or attempt.failed):
            routed = route_headers(served, failover.explanation(answered=False))
        elif failed is not None:  # (every failed attempt goes through a failover: never here)
            routed = route_headers(
                served, f"no answer; after {served.qualified_name} {failed.status}"
            )
        elif failover is not None:
            routed = route_headers(served, failover.explanation())
        elif served.wildcard:
            routed = route_headers(served, f"wildcard {served.qualified_name}")
        else:
            routed = self.router.headers(_routed_name(request, attempt), attempt.state)
        if reason is not None:  # a virtual model chose the model: why, first
            routed = route_headers(served, f"{reason}; {routed[ROUTE_HEADER]}")
        return routed

    def _shape(
        self, request: CompletionRequest, route: ModelRoute
    ) -> tuple[dict[str, Any], RequestKind, dict[str, Any], RequestKind]:
        """(the body to send, its shape, the body to admit, its shape): a chat body as it is; a
        dialect's as it is to a provider that speaks it, else its chat translation. Admission
        counts an Anthropic Messages body as it is, any other dialect by its chat translation
        (its estimate's, for a body passed natively)."""
        dialect = request.dialect
        if dialect is None:
            return request.body, "chat", request.body, "chat"
        native = self._upstream.speaks(route, dialect.kind)
        if dialect.kind == "messages":
            sent = request.body if native else dialect.as_chat(request.body)
            return sent, "messages" if native else "chat", request.body, "messages"
        if native:
            estimate = dialect.as_chat_estimate or dialect.as_chat
            return request.body, dialect.kind, estimate(request.body), "chat"
        chat = dialect.as_chat(request.body)
        return chat, "chat", chat, "chat"

    def resolve(self, caller: Caller, requested: str, body: Mapping[str, Any]) -> Routed:
        """The model `requested` names for this caller and `body` (in any dialect), after the
        routing policies had their say: the model itself, or the one a rule forces; a virtual
        model's choice among the models the key and the policies allow, with its reason (for
        `auto`, the prompt's tier is known to the policies)."""
        virtual = self._virtual
        if virtual is None:
            policy = self._policies.decide_for(caller, requested, None)
            return Routed(self._routable(caller, requested, policy), policy=policy)
        classified = virtual.classify(body) if virtual.is_auto(requested) else None
        tier = classified.tier if classified is not None else None
        policy = self._policies.decide_for(caller, requested, tier)
        model = policy.model(requested)
        if not virtual.is_virtual(model):
            return Routed(self._routable(caller, model, policy), policy=policy)

        def allowed(route: ModelRoute) -> bool:
            return policy.refusal(route) is None

        admits = None if policy is NO_DECISION else allowed
        try:
            routed = virtual.resolve(caller, model, body, allowed=admits, classified=classified)
        except ModelNotAllowed:
            if admits is None:
                raise
            # the key has models, the policies refuse them all: the rule that refuses says so
            policy.check(virtual.resolve(caller, model, body, classified=classified).route)
            raise
        log.debug("v1.virtual_model", requested=requested, reason=routed.reason)
        return Routed(routed.route, routed.reason, policy)

    def route_for(
        self, caller: Caller, requested: str, policy: Decision = NO_DECISION
    ) -> ModelRoute:
        """The route of the model requested (or of the one `policy` forces), if the caller's key
        may use it (a model through a wildcard also when the key lists `provider/*`) and no rule
        of `policy` refuses it (`PolicyDenied`)."""
        model = policy.model(requested)
        route = self._catalog.resolve(model)
        wildcard = (f"{route.provider}/{WILDCARD}",) if route.wildcard else ()
        if not caller.may_use(route.name, route.qualified_name, *wildcard):
            raise ModelNotAllowed(model)
        return policy.check(route)

    def route_with_policies(
        self, caller: Caller, requested: str, tier: str | None = None
    ) -> tuple[ModelRoute, Decision]:
        """The route, after the routing policies had their say (`domains.providers.policy`):
        the model a rule forces, a deployment no rule refuses (else `PolicyDenied`)."""
        policy = self._policies.decide_for(caller, requested, tier)
        return self.route_for(caller, requested, policy), policy

    def speaks(self, route: ModelRoute, kind: NativeKind) -> bool:
        """Whether `route`'s provider takes `kind` bodies as they are: a front door may then leave
        in a body what only that provider understands, rather than refuse it as untranslatable."""
        return self._upstream.speaks(route, kind)

    def models_for(self, caller: Caller) -> list[tuple[str, ModelRoute]]:
        """(id to show, route) for each model this caller may use."""
        shown = []
        for route in self._catalog.routes():
            if route.name == WILDCARD:  # listed as `provider/*`: any name under it
                if caller.may_use(route.qualified_name):
                    shown.append((route.qualified_name, route))
            elif caller.may_use(route.name, route.qualified_name):
                bare = self._catalog.resolve(route.name) is route
                shown.append((route.name if bare else route.qualified_name, route))
        if self._virtual is not None:
            for name in self._virtual.names_for(caller):
                shown.append((name, ModelRoute(VIRTUAL_PROVIDER, "virtual", name, name)))
        return shown

    def shown_model(self, caller: Caller, wanted: str) -> ModelRoute:
        """The model `wanted` as the model listing shows it to this caller (a virtual model too);
        `UnknownModel` if the caller cannot see it."""
        try:
            return self.route_for(caller, wanted)
        except ModelNotAllowed:  # a model the key may not use is one it cannot see
            raise UnknownModel(wanted) from None
        except UnknownModel:
            virtual = self._virtual
            if virtual is None or wanted not in virtual.names_for(caller):
                raise
            return ModelRoute(VIRTUAL_PROVIDER, "virtual", wanted, wanted)

    async def count_tokens(
        self,
        caller: Caller,
        model: str,
        body: dict[str, Any],
        headers: Mapping[str, str],
        kind: NativeKind = "messages",
    ) -> int | None:
        """A `kind` body's input tokens as its provider counts them; None if the provider does
        not speak `kind` (the front door estimates)."""
        route = self.resolve(caller, model, body).route
        if not self._upstream.speaks(route, kind):
            return None
        return await self._upstream.count_tokens(route, kind, body, headers)

    async def _answer(
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
                if await self._failed_over(request, attempt, call, error):
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
                self._may_refuse(request, attempt)
                and refused(reply.body)
                and await self._after_refusal(request, attempt)
            ):
                continue  # the refusal was recorded as the answer it is; the fallback now
            return reply.body

    async def _stream(self, request: CompletionRequest, attempt: Attempt) -> AsyncIterator[bytes]:
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
                if await self._failed_over(request, attempt, call, error):
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
                if await self._failed_over(request, attempt, call, error, finish=False):
                    continue
                # nowhere else to go: the stream ends with the error, in its dialect
                attempt.failed = True
                return relay(
                    stream,
                    call,
                    body,
                    self._told(request),
                    on_error,
                    ticket,
                    on_cut,
                    chunks=_raising(error),
                )
            except BaseException:
                await stream.aclose()
                state.ended(clock(), 0)
                ticket.release()
                raise
            first_at = time.perf_counter()
            now = clock()
            state.succeeded(now, now - started, first_byte=True)
            if first is not None and self._may_refuse(request, attempt):
                after, first, chunks = await self._held_for_refusal(
                    request, attempt, call, stream, chunks, first
                )
                if after is _REFUSAL_FELL_OVER:
                    continue
                if after is _REFUSAL_RECORDED:  # no fallback could be admitted after all
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

    def _may_refuse(self, request: CompletionRequest, attempt: Attempt) -> bool:
        """Whether a content refusal of this attempt has fallbacks to go to."""
        if attempt.kind == "embeddings":
            return False
        failover = attempt.failover
        model = failover.current if failover is not None else _routed_name(request, attempt)
        return bool(self.router.refusal_fallbacks(model, attempt.state))

    async def _after_refusal(self, request: CompletionRequest, attempt: Attempt) -> bool:
        """The attempt's answer was a content refusal (already recorded and settled as the
        answer it is): the next attempt is made ready on a `content_policy_fallbacks` model,
        admitted anew (True), or there is none (False: the refusal is the answer)."""
        failover = self._failover(request, attempt)
        step = failover.refused()
        while step is not None:
            route = step.state.deployment.route
            try:
                sent, sent_as, admitted, admitted_as = _capped(
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

    async def _held_for_refusal(
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
            return _REFUSAL_RELAYED, payload, _raising(failure)
        if not refused(payload):
            return _REFUSAL_RELAYED, payload, chunks
        after = await self._stream_refused(request, attempt, call, stream)
        return after, payload, chunks

    async def _stream_refused(
        self, request: CompletionRequest, attempt: Attempt, call: Call, stream: ChatStream
    ) -> object:
        """A stream refused before its first byte reached the client: when a fallback may
        answer, the stream is closed and recorded as the answer it was, then the fallback is
        made ready (`_REFUSAL_FELL_OVER`, or `_REFUSAL_RECORDED` if none could be admitted);
        else nothing is done (`_REFUSAL_RELAYED`: the refusal is relayed as it is)."""
        failover = self._failover(request, attempt)
        if not failover.has_refusal_fallback():
            return _REFUSAL_RELAYED
        await stream.aclose()
        tally = stream.tally
        usage, reported = capped_usage(
            tally.usage or Usage(), attempt.ticket.reserved, tally.usage is not None
        )
        attempt.state.ended(self.router.clock(), usage.input_tokens + usage.output_tokens)
        attempt.ticket.settle(usage)
        event = call.finished(200, "ok", usage, usage_reported=reported)
        self._recorder.record(event)
        if await self._after_refusal(request, attempt):
            return _REFUSAL_FELL_OVER
        if request.observe is not None:  # the refusal is the stream's answer after all
            request.observe(event)
        return _REFUSAL_RECORDED

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

    async def _failed_over(
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
        failover = self._failover(request, attempt)
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
                    shaped = _capped(self._shape(request, route), route, attempt.policy)
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

    def _failover(self, request: CompletionRequest, attempt: Attempt) -> Failover:
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
                permits=_permits(policy),
            )
        return failover

    def _told(self, request: CompletionRequest) -> Callable[[CompletionFinished], None]:
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
                else self.router.headers(_routed_name(request, attempt), state)[ROUTE_HEADER]
            ),
        )
        if journaled is not None and not attempt.journaled:
            journaled.start(call)
            attempt.journaled = True
        return call


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

_REFUSAL_FELL_OVER = object()
_REFUSAL_RECORDED = object()
_REFUSAL_RELAYED = object()


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


async def _replayed(payload: bytes) -> AsyncIterator[bytes]:
    """What a closed stream had sent, as the client's stream."""
    yield payload


async def _raising(error: UpstreamError) -> AsyncIterator[bytes]:
    """A stream that fails at once with `error`."""
    raise error
    yield b""  # pragma: no cover - makes this an async generator


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


def _observed(
    request: CompletionRequest, also: Callable[[CompletionFinished], None]
) -> CompletionRequest:
    """The request, its finished call told to `also` as well."""
    told = request.observe

    def observe(event: CompletionFinished) -> None:
        also(event)
        if told is not None:
            told(event)

    return msgspec.structs.replace(request, observe=observe)


def _routed_name(request: CompletionRequest, attempt: Attempt) -> str:
    """The name the router chose a deployment of: the model a virtual model chose, or the one
    asked for (or forced by a rule)."""
    if attempt.reason is not None:
        return attempt.route.name
    return attempt.policy.model(request.model)


def _permits(policy: Decision) -> Callable[[ModelRoute], bool] | None:
    """Whether the policies let a deployment serve the request (None: any may)."""
    if not policy.rules:
        return None
    return lambda route: policy.refusal(route) is None


def _capped(
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


def _never_cut(usage: Usage) -> bytes:
    """The cut ending of a stream that nothing reserved for, so that is never cut."""
    raise AssertionError("a stream with no reservation is never cut")
