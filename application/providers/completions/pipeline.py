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

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import structlog

from application.providers.call import Call, Endpoint
from application.providers.completions.admit import CallAdmission, within_reservation
from application.providers.completions.request import Completion, CompletionRequest, Withdrawn
from application.providers.completions.upstream import Upstream
from application.providers.completions.virtual import VIRTUAL_PROVIDER, Routed, VirtualModels
from application.providers.journal import JournaledTicket
from application.providers.stream_relay import (
    CutEnding,
    capped_usage,
    openai_sse_cut,
    openai_sse_error,
    relay,
)
from domains.providers.admission import Ticket
from domains.providers.errors import ModelNotAllowed, UnknownModel, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import WILDCARD, Catalog, ModelRoute
from domains.providers.output_limit import NativeKind, RequestKind, limited_body
from domains.providers.policy import NO_DECISION, NO_POLICIES, Decision, Policies
from domains.providers.ports import Usage
from domains.shared.caller import Caller

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
    ) -> None:
        self._policies = policies
        self._catalog = catalog
        self._virtual = virtual
        self._admission = admission
        self._upstream = upstream
        self._recorder = recorder
        self._log_prompts = log_prompts

    async def complete(self, request: CompletionRequest) -> Completion:
        """A chat completion (or a message, a response... in the request's dialect), plain or
        streamed."""
        # route: which model, and in which shape the body goes (a dialect natively to a
        # provider that speaks it, else as chat: a bad body is refused before admission)
        routed = request.routed or self.resolve(request.caller, request.model, request.body)
        route, policy = routed.route, routed.policy
        body, sent_as, admitted, admitted_as = _capped(self._shape(request, route), route, policy)
        if self._log_prompts and request.prompt_log is not None:
            log.info(request.prompt_log, model=request.model, messages=admitted.get("messages"))
        # admit: budgets and rate limits reserve, or refuse before anything goes upstream
        ticket = await self._admission.admit(request.caller, route, admitted, admitted_as, sent_as)
        if request.on_admitted is not None and not request.on_admitted(ticket.headers):
            ticket.release()
            raise Withdrawn(ticket.headers)
        body = within_reservation(body, route, ticket, sent_as)
        native = sent_as != "chat"
        # call → settle → record: a stream settles and records when it ends
        if request.stream:
            chunks = await self._stream(request, route, sent_as, body, ticket)
            return Completion(
                route=route,
                headers=ticket.headers,
                chunks=chunks,
                native=native,
                route_reason=routed.reason,
            )
        answer = await self._answer(request, route, sent_as, body, ticket, "chat")
        return Completion(
            route=route,
            headers=ticket.headers,
            body=answer,
            native=native,
            route_reason=routed.reason,
        )

    async def embed(self, request: CompletionRequest) -> Completion:
        """Embeddings: the same line, always a plain answer."""
        route, _ = self.route_with_policies(request.caller, request.model)
        ticket = await self._admission.admit(request.caller, route, request.body, "embeddings")
        body = await self._answer(request, route, "embeddings", request.body, ticket, "embeddings")
        return Completion(route=route, headers=ticket.headers, body=body)

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
            route, policy = self.route_with_policies(caller, requested)
            return Routed(route, policy=policy)
        classified = virtual.classify(body) if virtual.is_auto(requested) else None
        tier = classified.tier if classified is not None else None
        policy = self._policies.decide_for(caller, requested, tier)
        model = policy.model(requested)
        if not virtual.is_virtual(model):
            return Routed(self.route_for(caller, model, policy), policy=policy)

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
        self,
        request: CompletionRequest,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        ticket: Ticket,
        endpoint: Endpoint,
    ) -> bytes:
        """call → settle → record, for a whole answer."""
        call = _going_upstream(request, route, endpoint, ticket, stream=False)
        headers = request.dialect.headers if request.dialect is not None else NO_HEADERS
        try:
            reply = await self._upstream.answer(route, kind, body, headers)
        except BaseException as error:  # failed, timed out, or the client went away
            ticket.release()
            if isinstance(error, UpstreamError):
                self._recorder.record(call.finished(error.status, "error", None))
            raise
        usage, reported = capped_usage(reply.usage or Usage(), ticket.reserved, True)
        ticket.settle(usage)
        self._recorder.record(call.finished(200, "ok", usage, usage_reported=reported))
        return reply.body

    async def _stream(
        self,
        request: CompletionRequest,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        ticket: Ticket,
    ) -> AsyncIterator[bytes]:
        """call, then the stream to relay: it settles and records when it ends
        (`stream_relay.relay`). The upstream's errors raise here, before any byte is sent."""
        call = _going_upstream(request, route, "chat", ticket, stream=True)
        dialect = request.dialect
        on_error: Callable[[UpstreamError], bytes] = openai_sse_error
        on_cut: CutEnding = _never_cut
        headers = NO_HEADERS
        if kind != "chat" and dialect is not None:
            on_error, on_cut, headers = dialect.stream_error, dialect.stream_cut, dialect.headers
        elif ticket.reserved is not None:
            choices = body.get("n")
            on_cut = openai_sse_cut(
                f"chatcmpl-{request.request_id}",
                route.upstream,
                choices if isinstance(choices, int) and choices > 1 else 1,
                request.include_usage,
            )
        record = self._recorder.record
        if request.observe is not None:
            told, to_recorder = request.observe, record

            def record(event: CompletionFinished) -> None:
                to_recorder(event)
                told(event)

        try:
            stream = await self._upstream.open_stream(
                route, kind, body, headers, include_usage=request.include_usage
            )
        except BaseException as error:
            ticket.release()
            if isinstance(error, UpstreamError):
                record(call.finished(error.status, "error", None))
            raise
        return relay(stream, call, body, record, on_error, ticket, on_cut)


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


def _going_upstream(
    request: CompletionRequest,
    route: ModelRoute,
    endpoint: Endpoint,
    ticket: Ticket,
    *,
    stream: bool,
) -> Call:
    """The call about to go upstream, journaled as started when its ticket journals."""
    journaled = ticket if isinstance(ticket, JournaledTicket) else None
    call = Call(
        request.caller,
        request.request_id,
        route,
        endpoint,
        stream=stream,
        transport=request.transport,
        event_id=journaled.call_id if journaled is not None else None,
    )
    if journaled is not None:
        journaled.start(call)
    return call


def _never_cut(usage: Usage) -> bytes:
    """The cut ending of a stream that nothing reserved for, so that is never cut."""
    raise AssertionError("a stream with no reservation is never cut")
