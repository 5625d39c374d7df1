"""The gateway's use case: send a caller's request to the model it names, and account for it.

Bodies stay in the OpenAI shape the adapters speak; the adapters translate for their vendor.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec

from application.providers.recorder import CompletionRecorder
from domains.providers.errors import ModelNotAllowed, UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import (
    ChatStream,
    NativeMessages,
    ProviderClient,
    UpstreamReply,
    Usage,
)
from domains.shared.caller import Caller

CHARS_PER_TOKEN = 4  # the estimate used only when a cut stream never reported its usage


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
            _sse_error,
        )

    def speaks_messages(self, route: ModelRoute) -> bool:
        """Whether the route's provider takes Anthropic Messages requests natively."""
        return isinstance(self._clients[route.provider], NativeMessages)

    async def native_messages(
        self, caller: Caller, request_id: str, route: ModelRoute, body: dict[str, Any]
    ) -> bytes:
        client = self._native(route)
        return await self._call(
            caller, request_id, route, "chat", lambda: client.messages(body, route.upstream)
        )

    async def native_messages_stream(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        *,
        on_error: Callable[[UpstreamError], bytes],
    ) -> AsyncIterator[bytes]:
        client = self._native(route)
        return await self._stream(
            caller,
            request_id,
            route,
            body,
            lambda: client.open_messages_stream(body, route.upstream),
            on_error,
        )

    async def native_count_tokens(self, route: ModelRoute, body: dict[str, Any]) -> int:
        return await self._native(route).count_tokens(body, route.upstream)

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
        endpoint: Literal["chat", "embeddings"],
        call: Callable[[], Awaitable[UpstreamReply]],
    ) -> bytes:
        started = time.perf_counter()
        try:
            reply = await call()
        except UpstreamError as error:
            self._record(
                caller, request_id, route, endpoint, False, error.status, "error", None, started
            )
            raise
        self._record(caller, request_id, route, endpoint, False, 200, "ok", reply.usage, started)
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
        started = time.perf_counter()
        try:
            stream = await open_stream()
        except UpstreamError as error:
            self._record(
                caller, request_id, route, "chat", True, error.status, "error", None, started
            )
            raise
        return self._relay(stream, caller, request_id, route, body, started, on_error)

    async def _relay(
        self,
        stream: ChatStream,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        body: dict[str, Any],
        started: float,
        on_error: Callable[[UpstreamError], bytes],
    ) -> AsyncIterator[bytes]:
        outcome: Literal["ok", "error", "cancelled"] = "cancelled"
        status = 200
        try:
            async for chunk in stream:
                yield chunk
            outcome = "ok" if stream.tally.finished else "error"
        except UpstreamError as error:
            outcome, status = "error", error.status
            yield on_error(error)
        finally:
            await stream.aclose()
            tally = stream.tally
            usage, reported = tally.usage, tally.usage is not None
            if usage is None:
                usage = Usage(
                    input_tokens=_estimate_prompt_tokens(body),
                    output_tokens=-(-tally.output_chars // CHARS_PER_TOKEN),
                )
            self._record(
                caller,
                request_id,
                route,
                "chat",
                True,
                status,
                outcome,
                usage,
                started,
                usage_reported=reported,
            )

    def _record(
        self,
        caller: Caller,
        request_id: str,
        route: ModelRoute,
        endpoint: Literal["chat", "embeddings"],
        stream: bool,
        status: int,
        outcome: Literal["ok", "error", "cancelled"],
        usage: Usage | None,
        started: float,
        *,
        usage_reported: bool = True,
    ) -> None:
        usage = usage or Usage()
        self._recorder.record(
            CompletionFinished(
                request_id=request_id,
                endpoint=endpoint,
                key_id=caller.key_id,
                team_id=caller.team_id,
                org_id=caller.org_id,
                user_id=caller.user_id,
                provider=route.provider,
                model=route.name,
                upstream_model=route.upstream,
                stream=stream,
                status=status,
                outcome=outcome,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_tokens=usage.cached_tokens,
                usage_reported=usage_reported,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        )


def _estimate_prompt_tokens(body: dict[str, Any]) -> int:
    return -(-len(msgspec.json.encode(body.get("messages", []))) // CHARS_PER_TOKEN)


def _sse_error(error: UpstreamError) -> bytes:
    payload = {
        "error": {
            "message": error.message,
            "type": error.error_type,
            "param": error.param,
            "code": error.code,
        }
    }
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"
