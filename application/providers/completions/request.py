"""What a front door hands the completion pipeline, and what it gets back.

A front door decodes its dialect into a `CompletionRequest` and encodes the `Completion` (a body,
or the chunks of a stream) back into its dialect. The body stays in the dialect the adapters speak:
the OpenAI chat shape, or Anthropic's Messages shape with a `MessagesDialect` saying how it reaches
a provider that speaks it natively and how it becomes chat for any other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import msgspec

from application.providers.call import Transport
from application.providers.stream_relay import CutEnding
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.shared.caller import Caller


class MessagesDialect(msgspec.Struct, frozen=True, kw_only=True):
    """An Anthropic Messages body: passed natively to a provider that speaks it (with the client's
    protocol headers, its stream errors and cut ending in Anthropic's events), translated into a
    chat body (`as_chat`, before admission, so a bad body is refused first) for any other."""

    headers: Mapping[str, str]
    as_chat: Callable[[dict[str, Any]], dict[str, Any]]
    stream_error: Callable[[UpstreamError], bytes]
    stream_cut: CutEnding


class CompletionRequest(msgspec.Struct, frozen=True, kw_only=True):
    caller: Caller
    request_id: str
    model: str
    """The model as the client named it; the pipeline routes it."""
    body: dict[str, Any]
    """The body as the client sent it (admitted as such), in the OpenAI chat shape unless
    `messages` says it is an Anthropic Messages body."""
    stream: bool = False
    include_usage: bool = False
    """A stream ends with its usage chunk (OpenAI's `stream_options.include_usage`)."""
    messages: MessagesDialect | None = None
    transport: Transport = "http"
    prompt_log: str | None = None
    """The log event the prompt is logged under when the operator logs prompts; None: never."""
    on_admitted: Callable[[Mapping[str, str]], bool] | None = None
    """Told the admission's headers once admitted; answering False withdraws the request (the
    pipeline gives the admission back and raises `Withdrawn`) before anything goes upstream."""
    observe: Callable[[CompletionFinished], None] | None = None
    """Handed the very record of the finished call that is billed (a stream's usage to tell)."""


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    """The answer: a JSON body, or the chunks of a stream to relay as they come (closing them, the
    client gone, ends the upstream call and records it as cancelled)."""

    route: ModelRoute
    headers: Mapping[str, str]
    """What the caller is told of their limits (`x-ratelimit-*`), to send with the answer."""
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None
    native: bool = False
    """The answer is in the request's own Messages dialect (passed natively), not chat."""


class Withdrawn(Exception):
    """The front door withdrew an admitted request (`on_admitted` said no): nothing went
    upstream and nothing is charged."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__("the request was withdrawn before its call")
        self.headers = headers
