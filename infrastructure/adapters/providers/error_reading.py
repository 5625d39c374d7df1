"""What an upstream error means for the gateway's caller, as each wire format reads it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorReading:
    status: int  # what the gateway answers (4xx kept, 5xx → 502, overload → 503, ...)
    message: str
    error_type: str
    code: str | None = None
    param: str | None = None
    retry_after: str | None = None


# (upstream status, body, response headers) → reading. Never raises.
ErrorReader = Callable[[int, bytes, Mapping[str, str]], ErrorReading]

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
    504: "timeout",
}


def gateway_status(upstream: int) -> int:
    """An upstream 4xx keeps its status; a 5xx is 502 (a wire may say more: overload → 503)."""
    return upstream if upstream < 500 else 502
