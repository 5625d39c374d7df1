"""Errors every context may raise; interfaces map them to the wire's error shape."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request. The message is safe to show to the caller."""

    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class InvalidValue(DomainError):
    code = "invalid_value"


class LimitExceeded(DomainError):
    """A budget or a rate limit refused the request: a 429. `headers` carry `Retry-After` and
    the `x-ratelimit-*` figures; a budget that will not refill soon is not `retryable`."""

    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        error_type: str,
        headers: dict[str, str] | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.headers = dict(headers or {})
        self.retryable = retryable
