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
from typing import Any, Protocol, cast

from domains.providers.model import ModelRoute
from domains.providers.output_limit import NativeKind, RequestKind
from domains.providers.ports import ChatStream, NativeDialects, ProviderClient, UpstreamReply


class Upstream(Protocol):
    """`kind` is the body's shape: `chat` (OpenAI), `embeddings`, or a dialect the route's
    provider takes natively (`messages`, `responses`...: `speaks`), with the client's protocol
    `headers`."""

    def speaks(self, route: ModelRoute, kind: NativeKind) -> bool:
        """Whether the route's provider takes `kind` bodies as they are."""
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
        self, route: ModelRoute, kind: NativeKind, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[int]:
        """A `kind` body's input tokens, counted by a provider that speaks it."""
        ...


class ProviderCalls:
    """One attempt at the route's provider, through its adapter."""

    def __init__(self, clients: Mapping[str, ProviderClient]) -> None:
        self._clients = clients
        self._kinds: dict[str, tuple[ProviderClient, frozenset[str]]] = {}

    def speaks(self, route: ModelRoute, kind: NativeKind) -> bool:
        return kind in self._native_kinds(route.provider)

    def _native_kinds(self, provider: str) -> frozenset[str]:
        """The dialects the provider's client takes as they are, read once per client (a
        runtime protocol check costs microseconds; the clients may be replaced at run time)."""
        client = self._clients[provider]
        known = self._kinds.get(provider)
        if known is None or known[0] is not client:
            kinds = client.native_kinds if isinstance(client, NativeDialects) else frozenset()
            known = self._kinds[provider] = (client, kinds)
        return known[1]

    def answer(
        self, route: ModelRoute, kind: RequestKind, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[UpstreamReply]:
        if kind == "chat":
            return self._clients[route.provider].chat(body, route.upstream)
        if kind == "embeddings":
            return self._clients[route.provider].embeddings(body, route.upstream)
        return self._native(route, kind).native(kind, body, route.upstream, headers)

    def open_stream(
        self,
        route: ModelRoute,
        kind: RequestKind,
        body: dict[str, Any],
        headers: Mapping[str, str],
        *,
        include_usage: bool,
    ) -> Awaitable[ChatStream]:
        if kind == "chat":
            client = self._clients[route.provider]
            return client.open_chat_stream(body, route.upstream, include_usage=include_usage)
        return self._native(route, kind).open_native_stream(kind, body, route.upstream, headers)

    def count_tokens(
        self, route: ModelRoute, kind: NativeKind, body: dict[str, Any], headers: Mapping[str, str]
    ) -> Awaitable[int]:
        return self._native(route, kind).count_tokens(kind, body, route.upstream, headers)

    def _native(self, route: ModelRoute, kind: str) -> NativeDialects:
        if kind not in self._native_kinds(route.provider):
            raise LookupError(f"provider {route.provider} takes no {kind} body as it is")
        return cast(NativeDialects, self._clients[route.provider])
