"""The fake OpenAI upstream's models: the ids it lists, the special names that make it fail or
stall, and the record of the streams its clients cut."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import msgspec
from aiohttp import web

from tests.fakes.faults import Faults
from tests.fakes.server import (
    RequestLog,
)

COMPLETION_MODELS: Final[tuple[str, ...]] = ("gpt-3.5-turbo-instruct", "davinci-002")
"""The models of the legacy text completions route (the others are chat or embeddings models)."""
MODEL_IDS: Final[tuple[str, ...]] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-nano",
    "text-embedding-3-small",
    "text-embedding-3-large",
    *COMPLETION_MODELS,
)
MODEL_CREATED: Final = 1_700_000_000
DEFAULT_EMBEDDING_DIMENSIONS: Final = 8
MAX_EMBEDDING_DIMENSIONS: Final = 65_536
SYSTEM_FINGERPRINT: Final = "fp_fake"
MAX_CHOICES: Final = 128  # `n`, as OpenAI bounds it

MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_429: Final = "fake-error-429"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_ERROR_503: Final = "fake-error-503"
MODEL_STREAM_ERROR: Final = "fake-stream-error"
MODEL_ERROR_401_LEAKY: Final = "fake-error-401-leaky"
MODEL_SLOW: Final = "fake-slow"
MODEL_CONTENT_POLICY: Final = "fake-content-policy"  # 400 `content_policy_violation`
MODEL_CONTENT_FILTER: Final = "fake-content-filter"  # 200, no output, finish `content_filter`
MODEL_STALL_STREAM: Final = "fake-stall-stream"
MODEL_STALL_MIDWAY: Final = "fake-stall-midway"  # a stream: three chunks, then a stall
MODEL_STALL_FIRST: Final = "fake-stall-first"  # a stream: 200 at once, its first chunk late
MODEL_CUT_STREAM: Final = "fake-cut-stream"  # a stream: one chunk, then the connection closed
MODEL_SLOW_STREAM: Final = "fake-slow-stream"
MODEL_FLOOD_STREAM: Final = "fake-flood-stream"
SLOW_STREAM_DELAY: Final = 0.02
SLOW_STREAM_WORDS: Final = 50
MODEL_RUNAWAY: Final = "fake-runaway"
MODEL_EVERY_TOKEN: Final = "fake-every-token"
EVERY_TOKEN_CACHED: Final = 1024  # prompt tokens the fake reads from its prompt cache
EVERY_TOKEN_REASONING: Final = 64  # reasoning tokens it adds before the answer
MODEL_CACHED: Final = "fake-cached"
MODEL_REASONING: Final = "fake-reasoning"
MODEL_CACHED_REASONING: Final = "fake-cached-reasoning"
CACHED_INPUT_TOKENS: Final = 5
REASONING_TOKENS: Final = 7
RUNAWAY_PIECES: Final = 200
RUNAWAY_PIECE_WORDS: Final = 100

RETRY_AFTER_SECONDS: Final = 7
RATE_LIMIT_HEADERS: Final[dict[str, str]] = {
    "Retry-After": str(RETRY_AFTER_SECONDS),
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": f"{RETRY_AFTER_SECONDS}s",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "0",
    "x-ratelimit-reset-tokens": f"{RETRY_AFTER_SECONDS}s",
}

JSON_CT: Final = "application/json"
SSE_CT: Final = "text/event-stream; charset=utf-8"
MODEL_PATH_RE: Final = re.compile(r".*/models/([^/]+)")

_encoder: Final = msgspec.json.Encoder()
encode: Final = _encoder.encode

ALLOW_ANONYMOUS: Final = web.AppKey("fake_openai_allow_anonymous", bool)
FAULTS: Final = web.AppKey("fake_openai_faults", Faults)


@dataclass(frozen=True, slots=True)
class StreamAbort:
    """A streamed answer whose client went away before its end."""

    at: float  # time.monotonic() when the fake saw the connection close
    model: str
    prompt: str  # the text of the last user message
    chunks_sent: int


ABORT_LOG: Final = web.AppKey("fake_openai_abort_log", RequestLog[StreamAbort])
