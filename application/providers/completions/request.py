"""What a front door hands the completion pipeline, and what it gets back.

A front door decodes its dialect into a `CompletionRequest` and encodes the `Completion` (a body,
or the chunks of a stream) back into its dialect. The body stays in the client's dialect: the
OpenAI chat shape, or another (Anthropic Messages, OpenAI Responses, legacy completions, Gemini)
with a `Dialect` saying how it reaches a provider that speaks it natively and how it becomes chat
for any other. A translated answer comes back as chat, for the front door to translate back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import msgspec

from application.providers.call import Transport
from application.providers.completions.virtual import Routed
from application.providers.stream_relay import CutEnding
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.providers.output_limit import NativeKind
from domains.shared.caller import Caller


class Dialect(msgspec.Struct, frozen=True, kw_only=True):
    """A body in another dialect than OpenAI chat (`kind`): passed natively to a provider that
    speaks it (with the client's protocol `headers`, its stream errors and cut ending in the
    dialect's own events), translated into a chat body (`as_chat`, before admission, so a bad
    body is refused first) for any other.

    Admission estimates an Anthropic Messages body as it is, any other by its chat translation
    (`as_chat_estimate` for a body passed natively, when given); a native body is then capped
    to its reservation in the dialect's own output field."""

    kind: NativeKind
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    as_chat: Callable[[dict[str, Any]], dict[str, Any]]
    as_chat_estimate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """The chat translation admission counts for a body passed natively, when `as_chat` would
    refuse what only the native provider runs (OpenAI's built-in tools in a Responses body)."""
    stream_error: Callable[[UpstreamError], bytes]
    stream_cut: CutEnding


class CompletionRequest(msgspec.Struct, frozen=True, kw_only=True):
    caller: Caller
    request_id: str
    model: str
    """The model as the client named it; the pipeline routes it."""
    body: dict[str, Any]
    """The body as the client sent it, in the OpenAI chat shape unless `dialect` names
    another."""
    stream: bool = False
    include_usage: bool = False
    """A stream ends with its usage chunk (OpenAI's `stream_options.include_usage`)."""
    dialect: Dialect | None = None
    transport: Transport = "http"
    prompt_log: str | None = None
    """The log event the prompt is logged under when the operator logs prompts; None: never."""
    on_admitted: Callable[[Mapping[str, str]], bool] | None = None
    """Told the admission's headers once admitted; answering False withdraws the request (the
    pipeline gives the admission back and raises `Withdrawn`) before anything goes upstream."""
    observe: Callable[[CompletionFinished], None] | None = None
    """Handed the very record of the finished call that is billed (a stream's usage to tell)."""
    routed: Routed | None = None
    """The model already resolved for this request (`CompletionPipeline.resolve`), by a front
    door that had to know it first: a virtual model then is not chosen twice."""


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    """The answer: a JSON body, or the chunks of a stream to relay as they come (closing them, the
    client gone, ends the upstream call and records it as cancelled)."""

    route: ModelRoute
    headers: Mapping[str, str]
    """What the caller is told of their limits (`x-ratelimit-*`), to send with the answer."""
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None
    native: bool = False
    """The answer is in the request's own dialect (passed natively), not chat."""
    route_reason: str | None = None
    """Why a virtual model chose `route` (e.g. `auto tier=simple points=0 -> cheap: ...`);
    None for a model asked for by name."""


class Withdrawn(Exception):
    """The front door withdrew an admitted request (`on_admitted` said no): nothing went
    upstream and nothing is charged."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__("the request was withdrawn before its call")
        self.headers = headers
