"""The fake Anthropic upstream's models and the request fields it knows: the special model names
that fail on purpose, the API versions, the content block types it accepts."""

from __future__ import annotations

import re
from typing import Final

import msgspec

# (id, display name, release date), newest first as the real endpoint lists them.
MODELS: Final[tuple[tuple[str, str, str], ...]] = (
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
)
MODEL_MAX_INPUT_TOKENS: Final = 200_000
MODEL_MAX_TOKENS: Final = 64_000

MODEL_OVERLOADED: Final = "fake-overloaded"
MODEL_RATE_LIMITED: Final = "fake-rate-limited"
MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_SLOW: Final = "fake-slow"
MODEL_REFUSAL: Final = "fake-refusal"  # 200, no content, `stop_reason: "refusal"`
MODEL_STREAM_ERROR: Final = "fake-stream-error"
MODEL_CACHED: Final = "fake-cached"
CACHED_INPUT_TOKENS: Final = 5
MODEL_EVERY_TOKEN: Final = "fake-every-token"
# fake-every-token's prompt prefix: read from the cache, and written to it for 5 minutes and 1 hour
EVERY_TOKEN_CACHE_READ: Final = 2048
EVERY_TOKEN_CACHE_WRITE_5M: Final = 256
EVERY_TOKEN_CACHE_WRITE_1H: Final = 512

RETRY_AFTER_SECONDS: Final = 7

# API version 2026-10-21 (sent by anthropic SDK >= 2.0) rejects temperature/top_p/top_k even at
# their defaults, and non-empty ``citations`` on text blocks in user messages.
API_VERSION_2026: Final = "2026-10-21"
SAMPLING_PARAMS: Final = ("temperature", "top_p", "top_k")
# Real block types this fake does not model (rejected with an explicit message).
UNSUPPORTED_BLOCKS: Final = frozenset(
    {
        "document",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "container_upload",
        "mcp_tool_use",
        "mcp_tool_result",
    }
)

IMAGE_MEDIA_TYPES: Final = ("image/jpeg", "image/png", "image/gif", "image/webp")
TOOL_CHOICE_TYPES: Final = ("auto", "any", "tool", "none")
TOOL_NAME_RE: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Top-level fields the Messages API (and its token counter) accept; anything else is rejected
# with "Extra inputs are not permitted", as the real API does.
MESSAGES_FIELDS: Final = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "metadata",
        "thinking",
        "service_tier",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "output_config",
        "speed",
    }
)
COUNT_TOKENS_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "context_management",
        "mcp_servers",
        "output_config",
        "speed",
    }
)

JSON_CT: Final = "application/json"
SSE_CT: Final = "text/event-stream; charset=utf-8"

_encoder: Final = msgspec.json.Encoder()
encode: Final = _encoder.encode
