"""The gateway's use case: send a caller's request to the model it names, and account for it.

Bodies stay in the OpenAI shape the adapters speak; the adapters translate for their vendor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from application.providers.call import Call, Endpoint, Transport
from application.providers.journal import CallJournal, JournaledTicket
from application.providers.recorder import CompletionRecorder
from application.providers.stream_relay import (
    CutEnding,
    capped_usage,
    openai_sse_cut,
    openai_sse_error,
    relay,
)
from domains.providers.admission import Admission, AdmitEveryone, Ticket
from domains.providers.errors import ModelNotAllowed, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog, ModelRoute
from domains.providers.output_limit import RequestKind, limited_body, max_output_tokens
from domains.providers.ports import (
    ChatStream,
    NativeMessages,
    PromptCounter,
    ProviderClient,
    UpstreamReply,
    Usage,
)
from domains.shared.caller import Caller
from domains.shared.ids import new_id


class Gateway:
    def __init__(
        self,
        catalog: Catalog,
        clients: Mapping[str, ProviderClient],
        recorder: CompletionRecorder,
        *,
        admission: Admission | None = None,
        counter: PromptCounter | None = None,
        default_max_output_tokens: int = 4096,
        journal: CallJournal | None = None,
    ) -> None:
        self._journal = journal
        self._catalog = catalog
        self._clients = clients
        self._recorder = recorder
        self._admission: Admission = admission or AdmitEveryone()
        self._counter = counter
        self._default_max_output = default_max_output_tokens

    def route_for(self, caller: Caller, requested: str) -> ModelRoute:
        route = self._catalog.resolve(requested)
        if not caller.may_use(route.name, route.qualified_name):
            raise ModelNotAllowed(requested)
        return route

    def models_for(self, caller: Caller) -> list[tuple[str, ModelRoute]]:
        """(id to show, route) for each model this caller may use."""
        shown = []
        for route in self._catalog.routes():
            if caller.may_use(route.name, route.qualified_name):
                bare = self._catalog.resolve(route.name) is route
                shown.append((route.name if bare else route.qualified_name, route))
        return shown

    async def admit(
        self, caller: Caller, route: ModelRoute, body: Mapping[str, Any], kind: RequestKind
    ) -> Ticket:
        """Takes the caller's rate limits and reserves the request's largest cost against their
        budgets, or refuses (LimitExceeded, Forbidden). Tokens are counted only if a limit
        needs them. The ticket goes to the call, which settles it. First, if the finished calls
        waiting to be written reached the recorder's high water, waits for room."""

        def estimate() -> tuple[int, int]:
            prompt = 0
            if self._counter is not None:
                count = {
                    "chat": self._counter.count_chat,
                    "messages": self._counter.count_messages,
                    "embeddings": self._counter.count_embeddings,
                }[kind]
                prompt = count(body)
            most = max_output_tokens(
                body,
                kind=kind,
                model_max=route.max_output_tokens,
                default=self._default_max_output,
            )
            return prompt, most

        await self._recorder.room()  # while the accounting catches up, if it fell behind
        journal = self._journal
        if journal is None:
            return await self._admission.admit(caller, route.provider, route.name, estimate)
        counted: list[tuple[int, int]] = []

        def estimate_once() -> tuple[int, int]:
            if not counted:
                counted.append(estimate())
            return counted[0]

        ticket = await self._admission.admit(caller, route.provider, route.name, estimate_once)
        if counted:  # what the admission reserved
            prompt, most = counted[0]
        else:  # no limit needed a count: the output bound alone, the prompt left uncounted
            prompt = 0
            most = max_output_tokens(
                body, kind=kind, model_max=route.max_output_tokens, default=self._default_max_output
            )
        return JournaledTicket(ticket, journal, new_id(), prompt, most)

    async def chat(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        ticket: Ticket,
    ) -> bytes:
        client = self._clients[route.provider]
        body = _limited(body, route, ticket, "chat")
        return await self._call(
            caller, request_id, route, "chat", lambda: client.chat(body, route.upstream), ticket
        )

    async def embeddings(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        ticket: Ticket,
    ) -> bytes:
        client = self._clients[route.provider]
        return await self._call(
            caller,
            request_id,
            route,
            "embeddings",
            lambda: client.embeddings(body, route.upstream),
            ticket,
        )

    async def chat_stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        ticket: Ticket,
        *,
        include_usage: bool,
        transport: Transport = "http",
        observe: Callable[[CompletionFinished], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """Opens the upstream stream (errors raise here, before any byte is sent) and returns the
        iterator of SSE bytes for the client. Usage is recorded when the iterator ends, however
        it ends: finished, failed mid-way, or closed because the client went away; `observe`
        is then handed the very record that is billed (a client can be told its usage)."""
        client = self._clients[route.provider]
        body = _limited(body, route, ticket, "chat")
        on_cut: CutEnding = _never_cut
        if ticket.reserved is not None:
            choices = body.get("n")
            on_cut = openai_sse_cut(
                f"chatcmpl-{request_id}",
                route.upstream,
                choices if isinstance(choices, int) and choices > 1 else 1,
                include_usage,
            )
        return await self._stream(
            caller,
            request_id,
            route,
            body,
            lambda: client.open_chat_stream(body, route.upstream, include_usage=include_usage),
            openai_sse_error,
            ticket,
            on_cut,
            transport=transport,
            observe=observe,
        )

    def speaks_messages(self, route: ModelRoute) -> bool:
        """Whether the route's provider takes Anthropic Messages requests natively."""
        return isinstance(self._clients[route.provider], NativeMessages)

    async def native_messages(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        headers: Mapping[str, str],
        ticket: Ticket,
    ) -> bytes:
        client = self._native(route)
        body = _limited(body, route, ticket, "messages")
        return await self._call(
            caller,
            request_id,
            route,
            "chat",
            lambda: client.messages(body, route.upstream, headers),
            ticket,
        )

    async def native_messages_stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        headers: Mapping[str, str],
        ticket: Ticket,
        *,
        on_error: Callable[[UpstreamError], bytes],
        on_cut: CutEnding,
    ) -> AsyncIterator[bytes]:
        """`on_cut` ends a stream cut at its reservation in Anthropic's events."""
        client = self._native(route)
        body = _limited(body, route, ticket, "messages")
        return await self._stream(
            caller,
            request_id,
            route,
            body,
            lambda: client.open_messages_stream(body, route.upstream, headers),
            on_error,
            ticket,
            on_cut,
        )

    async def native_count_tokens(
        self, route: ModelRoute, body: dict[str, Any], headers: Mapping[str, str]
    ) -> int:
        return await self._native(route).count_tokens(body, route.upstream, headers)

    def _native(self, route: ModelRoute) -> NativeMessages:
        client = self._clients[route.provider]
        if not isinstance(client, NativeMessages):
            raise LookupError(f"provider {route.provider} does not speak Anthropic Messages")
        return client

    async def _call(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        endpoint: Endpoint,
        make: Callable[[], Awaitable[UpstreamReply]],
        ticket: Ticket,
    ) -> bytes:
        journaled = ticket if isinstance(ticket, JournaledTicket) else None
        call = Call(
            caller,
            request_id,
            route,
            endpoint,
            stream=False,
            event_id=journaled.call_id if journaled is not None else None,
        )
        if journaled is not None:
            journaled.start(call)
        try:
            reply = await make()
        except BaseException as error:  # failed, timed out, or the client went away
            ticket.release()
            if isinstance(error, UpstreamError):
                self._recorder.record(call.finished(error.status, "error", None))
            raise
        usage, reported = capped_usage(reply.usage or Usage(), ticket.reserved, True)
        ticket.settle(usage.input_tokens, usage.output_tokens, usage.cached_tokens)
        self._recorder.record(call.finished(200, "ok", usage, usage_reported=reported))
        return reply.body

    async def _stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        open_stream: Callable[[], Awaitable[ChatStream]],
        on_error: Callable[[UpstreamError], bytes],
        ticket: Ticket,
        on_cut: CutEnding,
        *,
        transport: Transport = "http",
        observe: Callable[[CompletionFinished], None] | None = None,
    ) -> AsyncIterator[bytes]:
        journaled = ticket if isinstance(ticket, JournaledTicket) else None
        call = Call(
            caller,
            request_id,
            route,
            "chat",
            stream=True,
            transport=transport,
            event_id=journaled.call_id if journaled is not None else None,
        )
        if journaled is not None:
            journaled.start(call)
        record = self._recorder.record
        if observe is not None:
            told = observe

            def record(event: CompletionFinished) -> None:
                self._recorder.record(event)
                told(event)

        try:
            stream = await open_stream()
        except BaseException as error:
            ticket.release()
            if isinstance(error, UpstreamError):
                record(call.finished(error.status, "error", None))
            raise
        return relay(stream, call, body, record, on_error, ticket, on_cut)


def _limited(
    body: dict[str, Any], route: ModelRoute, ticket: Ticket, kind: RequestKind
) -> dict[str, Any]:
    """The body asking the upstream for no more output than the ticket reserved (the body
    itself when nothing was reserved, or it already asks for no more)."""
    reserved = ticket.reserved
    if reserved is None:
        return body
    return limited_body(body, kind=kind, reserved=reserved[1], newer_field=route.kind == "openai")


def _never_cut(usage: Usage) -> bytes:
    """The cut ending of a stream that nothing reserved for, so that is never cut."""
    raise AssertionError("a stream with no reservation is never cut")
