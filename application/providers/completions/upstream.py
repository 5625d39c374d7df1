"""The pipeline's call step: the one place a call reaches a provider.

`Upstream` is the seam. `ProviderCalls` is the call as it is made today: one attempt at the
route's provider. Retries, fallbacks, a circuit breaker or the response cache plug in as an
`Upstream` that wraps another; the pipeline's admission, settlement and record stay as they are.

An upstream that fails raises `UpstreamError`: its adapter read the condition of the answer, and
the one table `domains.providers.upstream_failures` says what the caller is answered (an upstream
429 is the caller's 429, `rate_limit_exceeded`, its `Retry-After` kept).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from domains.providers.model import ModelRoute
from domains.providers.output_limit import RequestKind
from domains.providers.ports import ChatStream, NativeMessages, ProviderClient, UpstreamReply


class Upstream(Protocol):
    """`kind` is the body's shape: `chat` (OpenAI), `messages` (Anthropic, to a provider that
    speaks it, with the client's protocol `headers`) or `embeddings`."""

    def speaks_messages(self, route: ModelRoute) -> bool:
        """Whether the route's provider takes Anthropic Messages requests natively."""
        ...

    def answer(
        self, route: ModelRoute, kind: RequestKind, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[UpstreamReply]:
        """The upstream's whole answer."""
        ...

    def open_stream(
        self,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        include_usage: bool,
    ) -> Awaitable[ChatStream]:
        """The upstream's stream, once it answered 200 (an error raises here, before any byte
        reaches the client)."""
        ...

    def count_tokens(
        self, route: ModelRoute, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[int]:
        """A Messages body's input tokens, counted by a provider that speaks Messages."""
        ...


class ProviderCalls:
    """One attempt at the route's provider, through its adapter."""

    def __init__(self, clients: Mapping[str, ProviderClient]) -> None:
        self._clients = clients

    def speaks_messages(self, route: ModelRoute) -> bool:
        return isinstance(self._clients[route.provider], NativeMessages)

    def answer(
        self, route: ModelRoute, kind: RequestKind, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[UpstreamReply]:
        if kind == "chat":
            return self._clients[route.provider].chat(body, route.upstream)
        if kind == "embeddings":
            return self._clients[route.provider].embeddings(body, route.upstream)
        return self._native(route).messages(body, route.upstream, headers)

    def open_stream(
        self,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        include_usage: bool,
    ) -> Awaitable[ChatStream]:
        if kind == "messages":
            return self._native(route).open_messages_stream(body, route.upstream, headers)
        client = self._clients[route.provider]
        return client.open_chat_stream(body, route.upstream, include_usage=include_usage)

    def count_tokens(
        self, route: ModelRoute, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[int]:
        return self._native(route).count_tokens(body, route.upstream, headers)

    def _native(self, route: ModelRoute) -> NativeMessages:
        client = self._clients[route.provider]
        if not isinstance(client, NativeMessages):
            raise LookupError(f"provider {route.provider} does not speak Anthropic Messages")
        return client
