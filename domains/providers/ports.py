"""The port every upstream adapter implements, in the OpenAI shape the gateway speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, runtime_checkable

import msgspec

from domains.shared.usage import Usage as Usage  # noqa: PLC0414  (re-exported: the adapters' usage)


class UpstreamReply(msgspec.Struct, kw_only=True):
    """A finished, successful upstream answer: the OpenAI-shaped body to send back, and usage."""

    body: bytes
    usage: Usage | None = None


class StreamTally(msgspec.Struct, kw_only=True):
    """What a stream produced so far; filled in while the stream is forwarded.

    `most_chars`: once `output_chars` passes it, the stream passes on no more of what it has
    read (the rest of a read is dropped), and the gateway cuts it."""

    usage: Usage | None = None
    output_chars: int = 0
    finished: bool = False
    most_chars: int = 2**63 - 1


class ChatStream(Protocol):
    """An upstream stream already answered with 200: iterate it for the client's SSE bytes."""

    tally: StreamTally

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class ProviderClient(Protocol):
    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply: ...

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> ChatStream: ...

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply: ...

    async def list_models(self) -> list[str]:
        """The model ids the upstream's own API lists (the names it accepts as upstream)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class NativeDialects(Protocol):
    """A provider that takes bodies of some dialects other than OpenAI chat as they are
    (`native_kinds`: "messages" for Anthropic's API, "responses" for OpenAI's...): only the model
    name changes on the way up, and the answer (or stream) comes back as the upstream sent it.
    `headers` are the client's protocol headers to pass on (anthropic-version, anthropic-beta)."""

    native_kinds: frozenset[str]

    async def native(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> UpstreamReply: ...

    async def open_native_stream(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> ChatStream: ...

    async def count_tokens(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> int:
        """The input tokens of a `kind` body as the provider counts them (raises `LookupError`
        for a kind it cannot count)."""
        ...


class PromptCounter(Protocol):
    """Counts the prompt tokens of a request body offline, before it is sent upstream.

    Counts are estimates meant for reserving budget: they lean high where the exact number is
    unknowable (images, documents), and never raise, whatever the body's shape."""

    def count_chat(self, body: Mapping[str, Any]) -> int:
        """The prompt tokens of an OpenAI Chat Completions request body."""
        ...

    def count_messages(self, body: Mapping[str, Any]) -> int:
        """The prompt tokens of an Anthropic Messages request body."""
        ...

    def count_embeddings(self, body: Mapping[str, Any]) -> int:
        """The input tokens of an OpenAI embeddings request body (token ids count as one)."""
        ...
