"""Gemini API v1beta errors → their condition in the gateway's one table (pure): an error
answer's body for `error_facts` (never raises), a stream's error event for `stream_error`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError
from domains.providers.upstream_failures import KEEPS_RETRY_AFTER, Condition, condition_of_status
from infrastructure.adapters.providers.error_reading import says_context_too_long

_BY_GRPC_STATUS = {
    "RESOURCE_EXHAUSTED": Condition.RATE_LIMITED,
    "INVALID_ARGUMENT": Condition.INVALID_REQUEST,
    "FAILED_PRECONDITION": Condition.INVALID_REQUEST,
    "OUT_OF_RANGE": Condition.INVALID_REQUEST,
    "PERMISSION_DENIED": Condition.CREDENTIALS_REFUSED,
    "UNAUTHENTICATED": Condition.CREDENTIALS_REFUSED,
    "NOT_FOUND": Condition.MODEL_NOT_FOUND,
    "UNAVAILABLE": Condition.OVERLOADED,
    "DEADLINE_EXCEEDED": Condition.TIMEOUT,
    "INTERNAL": Condition.SERVER_ERROR,
}
_DURATION = re.compile(r"\s*(\d{1,15})(?:\.(\d{1,9}))?s\s*")


def _retry_delay(details: Any) -> str | None:
    """The RetryInfo delay in whole seconds, fractions rounded up ("7.2s" → "8")."""
    for detail in details if isinstance(details, list) else ():
        delay = detail.get("retryDelay") if isinstance(detail, Mapping) else None
        match = _DURATION.fullmatch(delay) if isinstance(delay, str) else None
        if match:
            fraction = match[2] is not None and int(match[2]) > 0
            return str(int(match[1]) + fraction)
    return None


def _refuses_the_key(details: Any) -> bool:
    """Google answers a key it does not take with 400 INVALID_ARGUMENT and an `ErrorInfo` whose
    reason is `API_KEY_INVALID` (or another `API_KEY_…` reason)."""
    for detail in details if isinstance(details, list) else ():
        reason = detail.get("reason") if isinstance(detail, Mapping) else None
        if isinstance(reason, str) and reason.startswith("API_KEY_"):
            return True
    return False


def _facts(
    status: int, error: Mapping[str, Any], message: str, retry_header: str | None
) -> tuple[Condition, str, str | None]:
    grpc = error.get("status")
    condition = _BY_GRPC_STATUS.get(grpc) if isinstance(grpc, str) else None
    if condition is None:
        condition = condition_of_status(status)
    if _refuses_the_key(error.get("details")):
        condition = Condition.CREDENTIALS_REFUSED
    elif condition is Condition.INVALID_REQUEST and says_context_too_long(message):
        condition = Condition.CONTEXT_LENGTH_EXCEEDED
    retry_after = None
    if condition in KEEPS_RETRY_AFTER:
        header = retry_header.strip() if retry_header else ""
        retry_after = _retry_delay(error.get("details")) or header or None
    return condition, message, retry_after


def error_facts(
    status: int, body: bytes, headers_retry_after: str | None
) -> tuple[Condition, str, str | None]:
    """(condition, message, retry_after) of a Gemini error answer,
    from `{"error": {"code", "message", "status", "details"}}` or whatever came. Never raises."""
    try:
        parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, list) and parsed:  # the streaming endpoint wraps errors in an array
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    text = body[:500].decode("utf-8", "replace").strip() or "no error message"
    if not isinstance(error, dict):
        message = error if isinstance(error, str) and error else text
        return _facts(status, {}, message, headers_retry_after)
    raw = error.get("message")
    return _facts(status, error, raw if isinstance(raw, str) and raw else text, headers_retry_after)


def stream_error(error: Any) -> UpstreamError:
    error = error if isinstance(error, Mapping) else {"message": str(error)[:500]}
    code = error.get("code")
    upstream = code if isinstance(code, int) and 100 <= code <= 599 else None
    raw = error.get("message")
    message = raw if isinstance(raw, str) and raw else "no error message"
    condition, message, retry_after = _facts(upstream or 500, error, message, None)
    return UpstreamError(condition, message, retry_after=retry_after, upstream_status=upstream)
