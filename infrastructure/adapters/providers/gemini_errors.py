"""Gemini API v1beta errors → the gateway's error facts (pure): an error answer's body for
`error_facts` (never raises), a stream's error event for `stream_error`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError

_BY_GRPC_STATUS = {
    "RESOURCE_EXHAUSTED": 429,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "NOT_FOUND": 404,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
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


def _facts(
    status: int, error: Mapping[str, Any], message: str, retry_header: str | None
) -> tuple[int, str, str, str | None, str | None]:
    grpc = error.get("status")
    grpc = grpc if isinstance(grpc, str) and grpc else None
    if grpc in _BY_GRPC_STATUS:
        gateway = _BY_GRPC_STATUS[grpc]
    elif 400 <= status < 500 or status in (503, 504):
        gateway = status
    else:
        gateway = 502
    retry_after = None
    if gateway in (429, 503):
        header = retry_header.strip() if retry_header else ""
        retry_after = _retry_delay(error.get("details")) or header or None
    error_type = _ERROR_TYPES.get(gateway, "invalid_request_error")
    return gateway, message, error_type, grpc.lower() if grpc else None, retry_after


def error_facts(
    status: int, body: bytes, headers_retry_after: str | None
) -> tuple[int, str, str, str | None, str | None]:
    """(gateway status, message, OpenAI error type, code, retry_after) of a Gemini error answer,
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
    status, message, error_type, code_name, retry_after = _facts(
        upstream or 500, error, message, None
    )
    return UpstreamError(
        status,
        message,
        error_type=error_type,
        code=code_name,
        retry_after=retry_after,
        upstream_status=upstream,
    )
