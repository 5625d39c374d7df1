"""OpenAI-shaped error bodies (OpenAI, and the servers of the `openai-compatible` kind) and
error events in their streams → their condition in the gateway's one table (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from domains.providers.content_refusal import REFUSAL_CODES
from domains.providers.upstream_failures import Condition, condition_of_status
from infrastructure.adapters.providers.error_reading import ErrorReading, says_context_too_long


class _ErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | str | None = None
    message: str | None = None


_error_decoder = msgspec.json.Decoder(_ErrorBody)


class UpstreamErrorFacts(msgspec.Struct):
    message: str
    type: str | None
    code: str | None
    param: str | None


def error_facts(body: bytes) -> UpstreamErrorFacts:
    """The message, type, code and param of an upstream error body, whatever its shape."""
    try:
        parsed = _error_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        text = body[:500].decode("utf-8", "replace").strip()
        return UpstreamErrorFacts(text or "no error message", None, None, None)
    detail = parsed.error
    if isinstance(detail, _ErrorDetail):
        code = str(detail.code) if detail.code is not None else None
        return UpstreamErrorFacts(
            detail.message or parsed.message or "no error message",
            detail.type,
            code,
            detail.param,
        )
    return UpstreamErrorFacts(detail or parsed.message or "no error message", None, None, None)


def read_openai_error(status: int, body: bytes, headers: Mapping[str, str]) -> ErrorReading:
    """An OpenAI-shaped (or any) error body: its condition by status, a 400 about the context
    window told apart by OpenAI's `context_length_exceeded` code or its message."""
    facts = error_facts(body)
    condition = condition_of_status(status)
    if condition is Condition.INVALID_REQUEST and (
        facts.code == "context_length_exceeded" or says_context_too_long(facts.message)
    ):
        condition = Condition.CONTEXT_LENGTH_EXCEEDED
    return ErrorReading(
        condition,
        facts.message,
        facts.param,
        headers.get("Retry-After"),
        content_refused=condition is Condition.INVALID_REQUEST and facts.code in REFUSAL_CODES,
    )


def stream_error(data: bytes) -> ErrorReading | None:
    """An `{"error": {...}}` event in an OpenAI stream (no HTTP status: its `type` or `code`
    says what it is), or None if the event is not one."""
    try:
        parsed = _error_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    detail = parsed.error
    if detail is None:
        return None
    facts = error_facts(data)
    kind = detail.type if isinstance(detail, _ErrorDetail) else None
    code = facts.code or ""
    if "rate_limit" in code or kind in ("rate_limit_error", "requests", "tokens"):
        condition = Condition.RATE_LIMITED
    elif "overloaded" in code or kind in ("service_unavailable", "overloaded_error"):
        condition = Condition.OVERLOADED
    elif kind == "invalid_request_error":
        condition = Condition.INVALID_REQUEST
    else:
        condition = Condition.SERVER_ERROR
    return ErrorReading(condition, facts.message, facts.param)
