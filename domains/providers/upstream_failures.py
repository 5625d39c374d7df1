"""The one table of what an upstream failure becomes for the gateway's callers, whatever the
provider's kind: each wire format only says which condition its error is; the table says the
status, the OpenAI error `type` and `code`, and the Anthropic error type, for `/v1`, the
WebSocket protocol and `/v1/messages` alike."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Condition(StrEnum):
    CREDENTIALS_REFUSED = "credentials_refused"
    """The upstream refused the gateway's own credentials (401, 403; Gemini's API_KEY_INVALID)."""
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    BAD_RESPONSE = "bad_response"
    INVALID_REQUEST = "invalid_request"
    CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
    MODEL_NOT_FOUND = "model_not_found"
    REQUEST_TOO_LARGE = "request_too_large"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    type: str  # the OpenAI error object's `type`
    code: str
    anthropic_status: int
    anthropic_type: str


ANSWERS: dict[Condition, Answer] = {
    Condition.CREDENTIALS_REFUSED: Answer(
        502, "upstream_error", "upstream_credentials_refused", 502, "api_error"
    ),
    Condition.RATE_LIMITED: Answer(
        429, "rate_limit_error", "rate_limit_exceeded", 429, "rate_limit_error"
    ),
    Condition.OVERLOADED: Answer(
        503, "service_unavailable", "upstream_overloaded", 529, "overloaded_error"
    ),
    Condition.SERVER_ERROR: Answer(
        502, "upstream_error", "upstream_server_error", 502, "api_error"
    ),
    Condition.TIMEOUT: Answer(504, "timeout", "upstream_timeout", 504, "timeout_error"),
    Condition.UNREACHABLE: Answer(502, "upstream_error", "upstream_unreachable", 502, "api_error"),
    Condition.BAD_RESPONSE: Answer(
        502, "upstream_error", "upstream_bad_response", 502, "api_error"
    ),
    Condition.INVALID_REQUEST: Answer(
        400, "invalid_request_error", "invalid_request", 400, "invalid_request_error"
    ),
    Condition.CONTEXT_LENGTH_EXCEEDED: Answer(
        400, "invalid_request_error", "context_length_exceeded", 400, "invalid_request_error"
    ),
    Condition.MODEL_NOT_FOUND: Answer(
        404, "not_found_error", "model_not_found", 404, "not_found_error"
    ),
    Condition.REQUEST_TOO_LARGE: Answer(
        413, "invalid_request_error", "request_too_large", 413, "request_too_large"
    ),
}

BY_CODE: dict[str, Answer] = {answer.code: answer for answer in ANSWERS.values()}

KEEPS_RETRY_AFTER = frozenset({Condition.RATE_LIMITED, Condition.OVERLOADED})
"""The conditions whose upstream `Retry-After` reaches the caller."""


def condition_of_status(status: int) -> Condition:
    """What an upstream HTTP status means when its body says nothing more precise."""
    if status in (401, 403):
        return Condition.CREDENTIALS_REFUSED
    if status == 404:
        return Condition.MODEL_NOT_FOUND
    if status == 413:
        return Condition.REQUEST_TOO_LARGE
    if status == 429:
        return Condition.RATE_LIMITED
    if status in (408, 504):
        return Condition.TIMEOUT
    if status in (503, 529):
        return Condition.OVERLOADED
    if 400 <= status < 500 and status != 402:  # 402: the gateway's account, not the request
        return Condition.INVALID_REQUEST
    return Condition.SERVER_ERROR


def credentials_refused_message(provider: str, upstream_status: int | None) -> str:
    """What the caller is told: not the upstream's words (they may quote the key), and not that
    the caller's own key is wrong."""
    status = f" (HTTP {upstream_status})" if upstream_status else ""
    return (
        f"The gateway's credentials for provider `{provider}` were refused{status}. "
        "This is not a problem with your key; the gateway's operator has to fix it."
    )
