"""The gateway's use case: send a caller's request to the model it names, and account for it.

Bodies stay in the OpenAI shape the adapters speak; the adapters translate for their vendor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from application.providers.call import Call, Endpoint
from application.providers.recorder import CompletionRecorder
from application.providers.stream_relay import openai_sse_error, relay
from domains.providers.errors import ModelNotAllowed, UpstreamError
from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import (
    ChatStream,
    NativeMessages,
    ProviderClient,
    UpstreamReply,
)
from domains.shared.caller import Caller


class Gateway:
    def __init__(
        self,
        catalog: Catalog,
        clients: Mapping[str, ProviderClient],
        recorder: CompletionRecorder,
    ) -> None:
        self._catalog = catalog
        self._clients = clients
        self._recorder = recorder

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

    async def chat(
        self, caller: Caller, request_id: str, route: ModelRoute, body: dict[str, Any]
    ) -> bytes:
        client = self._clients[route.provider]
        return await self._call(
            caller, request_id, route, "chat", lambda: client.chat(body, route.upstream)
        )

    async def embeddings(
        self, caller: Caller, request_id: str, route: ModelRoute, body: dict[str, Any]
    ) -> bytes:
        client = self._clients[route.provider]
        return await self._call(
            caller,
            request_id,
            route,
            "embeddings",
            lambda: client.embeddings(body, route.upstream),
        )

    async def chat_stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        *,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        """Opens the upstream stream (errors raise here, before any byte is sent) and returns the
        iterator of SSE bytes for the client. Usage is recorded when the iterator ends, however
        it ends: finished, failed mid-way, or closed because the client went away."""
        client = self._clients[route.provider]
        return await self._stream(
            caller,
            request_id,
            route,
            body,
            lambda: client.open_chat_stream(body, route.upstream, include_usage=include_usage),
            openai_sse_error,
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
    ) -> bytes:
        client = self._native(route)
        return await self._call(
            caller,
            request_id,
            route,
            "chat",
            lambda: client.messages(body, route.upstream, headers),
        )

    async def native_messages_stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        on_error: Callable[[UpstreamError], bytes],
    ) -> AsyncIterator[bytes]:
        client = self._native(route)
        return await self._stream(
            caller,
            request_id,
            route,
            body,
            lambda: client.open_messages_stream(body, route.upstream, headers),
            on_error,
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
    ) -> bytes:
        call = Call(caller, request_id, route, endpoint, stream=False)
        try:
            reply = await make()
        except UpstreamError as error:
            self._recorder.record(call.finished(error.status, "error", None))
            raise
        self._recorder.record(call.finished(200, "ok", reply.usage))
        return reply.body

    async def _stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        open_stream: Callable[[], Awaitable[ChatStream]],
        on_error: Callable[[UpstreamError], bytes],
    ) -> AsyncIterator[bytes]:
        call = Call(caller, request_id, route, "chat", stream=True)
        try:
            stream = await open_stream()
        except UpstreamError as error:
            self._recorder.record(call.finished(error.status, "error", None))
            raise
        return relay(stream, call, body, self._recorder.record, on_error)
