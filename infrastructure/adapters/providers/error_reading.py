"""What an upstream error is, as each wire format reads it: the condition of the one table
(`domains.providers.upstream_failures`), the upstream's message, and what it adds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from domains.providers.upstream_failures import Condition


@dataclass(frozen=True, slots=True)
class ErrorReading:
    condition: Condition
    message: str
    param: str | None = None
    retry_after: str | None = None
    content_refused: bool = False
    """Refused for its content (OpenAI's `content_policy_violation`, Azure's `content_filter`)."""


# (upstream status, body, response headers) → reading. Never raises.
ErrorReader = Callable[[int, bytes, Mapping[str, str]], ErrorReading]

CONTEXT_PHRASES = (
    "prompt is too long",  # Anthropic
    "exceeds the maximum number of tokens",  # Gemini
    "maximum context length",  # OpenAI, vLLM
    "context length",
    "context window",
)


def says_context_too_long(message: str) -> bool:
    """Whether a 400's message says the prompt does not fit the model's context window."""
    lowered = message.lower()
    return any(phrase in lowered for phrase in CONTEXT_PHRASES)
