"""The Anthropic Messages wire format, translated to and from the OpenAI chat shape the gateway
speaks, as pure functions (no I/O). The pieces live in `anthropic_request` / `anthropic_messages`
(request), `anthropic_response` (message, usage, errors) and `anthropic_stream` (SSE events).

Only `InvalidRequest` (a 400) leaves the request translation; the stream translator raises only
`UpstreamError` (an `error` event); the response and error readers never raise.
"""

from __future__ import annotations

from infrastructure.adapters.providers.anthropic_request import (
    chat_request,
    structured_chat_request,
)
from infrastructure.adapters.providers.anthropic_response import (
    chat_response,
    error_facts,
    finish_reason,
)
from infrastructure.adapters.providers.anthropic_stream import StreamTranslator

__all__ = [
    "StreamTranslator",
    "chat_request",
    "chat_response",
    "error_facts",
    "finish_reason",
    "structured_chat_request",
]
