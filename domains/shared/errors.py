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
