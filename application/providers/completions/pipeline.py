"""The completion pipeline: one call to a model, from the request a front door decoded to the
record of how it ended, whatever dialect it arrived in (`/v1/chat/completions`, `/v1/messages`,
`/v1/embeddings`, a WebSocket `chat.start`).

    route → (log the prompt) → admit → call → settle → record

`CompletionPipeline.complete` reads as that line; each step is one name:

- route: the routing policies decide first (`domains.providers.policy`: a rule may force another
  model, cap the output, or refuse with `PolicyDenied`); a virtual model (`auto`, `cheap`...)
  becomes the concrete model it chooses for this caller and prompt among those the key and the
  policies allow (`virtual.VirtualModels`), with the reason it chose it; then the catalog
  resolves the model and the caller's key may use it or not (`ModelNotAllowed`): the queries
  of `models.ModelQueries`, which the pipeline is.
- admit: `admit.CallAdmission`, the estimate and the `Admission` port (budgets, rate limits):
  a refusal is the caller's 429 or 403 before any upstream call; else a ticket, reserved.
- call: `calls.UpstreamCalls` through `upstream.Upstream`; a failed attempt, or a content
  refusal, moves on to the next the routing allows (`attempts.Attempts`).
- settle and record: a plain answer in `calls`, at once; a stream in `stream_relay.relay`, when
  it ends however it ends (finished, failed, cut at its reservation, or closed: the client
  left). A call that failed or never started gives its ticket back (`release`) instead.

Where an upstream failure becomes the caller's status (an upstream 429 becomes the client's 429):
`domains.providers.upstream_failures`, the one table every front door answers from.

Front doors never see the ticket or the recorder: the `Completion` carries the admission's
headers (`x-ratelimit-*`) for the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import msgspec
import structlog

from application.providers.call import Call
from application.providers.completions.admit import CallAdmission, within_reservation
from application.providers.completions.attempts import (
    Attempt,
    Attempts,
    Recorder,
    capped,
    routed_name,
)
from application.providers.completions.cache import (
    OFF,
    ResponseCache,
    usage_of,
    without_cache_option,
)
from application.providers.completions.calls import NO_HEADERS, UpstreamCalls
from application.providers.completions.models import ModelQueries
from application.providers.completions.request import Completion, CompletionRequest, Withdrawn
from application.providers.completions.upstream import Upstream
from application.providers.completions.virtual import VirtualModels
from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import (
    ROUTE_HEADER,
    Router,
    ascii_header,
    route_headers,
)
from domains.providers.caller_metadata import end_user_of, metadata_of
from domains.providers.content_refusal import refused
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog, ModelRoute
from domains.providers.output_limit import RequestKind
from domains.providers.policy import NO_POLICIES, Policies
from domains.providers.response_cache import CACHE_HEADER, SIMILARITY_HEADER, CachedAnswer
from domains.providers.routing.deployment import Deployment, DeploymentState

log = structlog.get_logger("fluxrouter.v1")

__all__ = ["CompletionPipeline", "Recorder"]


class CompletionPipeline(ModelQueries):
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
        router = router or Router(
            (Deployment(route) for route in catalog.routes()), RoutingPolicy(retries=0)
        )
        super().__init__(catalog, upstream, policies, virtual, router)
        self._cache = cache
        self._admission = admission
        self._log_prompts = log_prompts
        self._attempts = Attempts(router, admission, recorder, self._shape)
        self._calls = UpstreamCalls(upstream, router, recorder, self._attempts)

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
        body, sent_as, admitted, admitted_as = capped(self._shape(request, route), route, policy)
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
                chunks = await self._calls.stream(request, attempt)
                if cache is not None and lookup.stores and not attempt.failed:
                    native = attempt.kind not in ("chat", "embeddings")
                    chunks = cache.storing(lookup, attempt.route, chunks, ended, native=native)
                return self._completion(request, attempt, chunks=chunks, reason=routed.reason)
            answer = await self._calls.answer(request, attempt, "chat")
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
        self._calls.told(request)(call.finished(200, "ok", usage_of(found)))
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
            body = await self._calls.answer(request, attempt, "embeddings")
        except UpstreamError as error:
            error.route_headers = self._routed(request, attempt, None, failed=error)
            raise
        return self._completion(request, attempt, body=body)

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
            routed = self.router.headers(routed_name(request, attempt), attempt.state)
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
