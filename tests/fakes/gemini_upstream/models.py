"""The fake Gemini upstream's models and constants: the API versions, the models it lists and
their methods, the special names that fail on purpose, and the record of a request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from aiohttp import web

from tests.fakes.server import (
    request_fields,
)

API_VERSIONS: Final[tuple[str, ...]] = ("v1", "v1beta")
DEFAULT_EMBEDDING_DIMENSIONS: Final = 8
MAX_EMBEDDING_DIMENSIONS: Final = 3072
MAX_EMBED_BATCH: Final = 100
MAX_STOP_SEQUENCES: Final = 5
MAX_CANDIDATES: Final = 8
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
CACHED_CONTENT_TOKENS: Final = 5
RETRY_DELAY: Final = "7s"

MODEL_EXHAUSTED: Final = "fake-exhausted"
MODEL_SAFETY: Final = "fake-safety"
MODEL_PROHIBITED: Final = "fake-prohibited"  # finishReason PROHIBITED_CONTENT, no content
MODEL_BLOCKLIST: Final = "fake-blocklist"  # finishReason BLOCKLIST, no content
MODEL_BLOCKED_PROMPT: Final = "fake-blocked-prompt"  # promptFeedback.blockReason, no candidate
WITHHELD: Final[dict[str, str]] = {
    MODEL_SAFETY: "SAFETY",
    MODEL_PROHIBITED: "PROHIBITED_CONTENT",
    MODEL_BLOCKLIST: "BLOCKLIST",
}
"""The models whose every answer is withheld, and the finishReason that says why."""
MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_UNAVAILABLE: Final = "fake-unavailable"
MODEL_SLOW: Final = "fake-slow"
MODEL_STALL_STREAM: Final = "fake-stall-stream"
MODEL_CACHED: Final = "fake-cached"
MODEL_EVERY_TOKEN: Final = "fake-every-token"
# fake-every-token: a cached content of this many tokens on top of the prompt's words, and this
# many thinking tokens before the answer
EVERY_TOKEN_CACHED: Final = 4096
EVERY_TOKEN_THOUGHTS: Final = 128
MODEL_RUNAWAY: Final = "fake-runaway"
RUNAWAY_PIECES: Final = 200
RUNAWAY_PIECE_WORDS: Final = 100

_GENERATE_METHODS: Final = [
    "generateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
]
MODELS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "models/gemini-2.5-flash",
        "version": "001",
        "displayName": "Gemini 2.5 Flash",
        "description": "Stable version of Gemini 2.5 Flash, our mid-size multimodal model.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": _GENERATE_METHODS,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    },
    {
        "name": "models/gemini-2.5-pro",
        "version": "2.5",
        "displayName": "Gemini 2.5 Pro",
        "description": "Stable release of Gemini 2.5 Pro.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": _GENERATE_METHODS,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    },
    {
        "name": "models/text-embedding-004",
        "version": "004",
        "displayName": "Text Embedding 004",
        "description": "Obtain a distributed representation of a text.",
        "inputTokenLimit": 2048,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": ["embedContent"],
    },
)
MODEL_IDS: Final[tuple[str, ...]] = tuple(m["name"].removeprefix("models/") for m in MODELS)
MODELS_BY_ID: Final = {m["name"].removeprefix("models/"): m for m in MODELS}

STATUS_NAMES: Final[dict[int, str]] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
JSON_CT: Final = "application/json; charset=UTF-8"
SSE_CT: Final = "text/event-stream"
HTML_CT: Final = "text/html; charset=UTF-8"
BASE_HEADERS: Final[dict[str, str]] = {
    "Vary": "Origin, X-Origin, Referer",
    "Server": "scaffolding on HTTPServer2",
    "X-Content-Type-Options": "nosniff",
}
SSE_SEP: Final = b"\r\n\r\n"  # Google terminates every SSE event with CRLF CRLF
ARRAY_SEP: Final = b"\n,\r\n"  # ... and separates JSON-array stream elements like this
TYPE_PREFIX: Final = "type.googleapis.com/google.ai.generativelanguage.v1beta."
FUNCTION_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,63}")

_encoder: Final = msgspec.json.Encoder()
encode: Final = _encoder.encode


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request received by the fake (any route, including rejected ones)."""

    method: str
    path: str  # without the query string
    query: dict[str, str]  # e.g. {"alt": "sse"} or {"key": "..."}
    headers: dict[str, str]  # lower-case header names
    json: Any  # parsed JSON body, or None (no body / not JSON)
    raw: bytes = b""  # the body as it came, byte for byte

    @classmethod
    def of(cls, request: web.Request, body: Any, raw: bytes = b"") -> RecordedRequest:
        return cls(query=dict(request.query), raw=raw, **request_fields(request, body))
