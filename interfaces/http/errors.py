"""Every error leaves in the shape its caller expects: OpenAI JSON on /v1, Anthropic's on
/v1/messages, Google's on the Gemini routes, the SCIM error schema on /scim/v2, RFC 9457 problem
details on /admin (and elsewhere). Never a traceback, never a secret."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from sqlalchemy.exc import DataError

from domains.providers.errors import InvalidRequest, UpstreamError
from domains.shared.errors import Conflict, DomainError, Forbidden, LimitExceeded, NotFound
from infrastructure.db.engine import is_database_busy
from infrastructure.redis_errors import MESSAGE as REDIS_DOWN
from infrastructure.redis_errors import RETRY_AFTER as REDIS_RETRY_AFTER
from infrastructure.redis_errors import is_redis_unavailable
from interfaces.http.anthropic.translate_response import error_body
from interfaces.http.gemini.paths import is_gemini_path
from interfaces.http.gemini.translate_response import google_error
from interfaces.http.not_found import UNKNOWN_PATH, is_unrouted, unknown_path_message

log = structlog.get_logger("fluxrouter.http")

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    501: "server_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
}


TOO_LARGE = "The request body is too large."
BUSY = "The database is busy with another write; nothing was changed, try again shortly."
BUSY_RETRY_AFTER = "1"


class ApiError(Exception):
    """An error raised by the interface itself, with its status and OpenAI code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def scim_error(
    status: int, detail: str, *, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """RFC 7644 §3.12: `status` is a string."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/scim+json",
        headers=headers,
    )


def _status_of(exc: Exception) -> tuple[int, str | None, str | None, dict[str, str]]:
    """(status, code, param, headers) for any exception the app may see."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.param, exc.headers
    if isinstance(exc, UpstreamError):  # with how the request was routed, when it was
        headers = dict(exc.route_headers)
        if exc.retry_after:
            headers["Retry-After"] = exc.retry_after
        return exc.status, exc.code, exc.param, headers
    if isinstance(exc, LimitExceeded):
        headers = dict(exc.headers)
        if not exc.retryable:  # the SDKs would otherwise retry a spent budget in vain
            headers["x-should-retry"] = "false"
        return 429, exc.code, None, headers
    if isinstance(exc, InvalidRequest):
        return 400, "invalid_request", exc.param, {}
    if isinstance(exc, (UnicodeDecodeError, RecursionError)):  # JSON decoding of the body
        return 400, "invalid_json", None, {}
    if isinstance(exc, NotFound):
        return 404, exc.code, None, {}
    if isinstance(exc, Forbidden):
        return 403, exc.code, None, {}
    if isinstance(exc, Conflict):
        return 409, exc.code, None, {}
    if isinstance(exc, DomainError):
        return 400, exc.code, None, {}
    if client_left(exc):  # no one reads the answer; the access log and metrics do
        return 408, "request_timeout", None, {}
    if isinstance(exc, HTTPException):
        return exc.status_code, None, None, dict(exc.headers or {})
    if isinstance(exc, DataError):  # a value the database cannot hold: the caller's to fix
        return 400, "invalid_value", None, {}
    if is_database_busy(exc):
        return 503, "database_busy", None, {"Retry-After": BUSY_RETRY_AFTER}
    if is_redis_unavailable(exc):
        return 503, "service_unavailable", None, {"Retry-After": REDIS_RETRY_AFTER}
    return 500, None, None, {}


def _message_of(exc: Exception, status: int) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The request body is not valid JSON: it is not UTF-8."
    if isinstance(exc, RecursionError):
        return "The request body is nested too deeply."
    if isinstance(exc, (ApiError, DomainError)):
        return str(exc.message) if hasattr(exc, "message") else str(exc)
    if isinstance(exc, DataError):
        return "A value in the request is out of range or not valid text."
    if is_database_busy(exc):
        return BUSY
    if is_redis_unavailable(exc):
        return REDIS_DOWN
    if client_left(exc):
        return "The request body was not received whole."
    if isinstance(exc, HTTPException) and status < 500:
        if status == 413:
            return TOO_LARGE
        if status == 404:
            return "There is nothing at this path."
        return str(exc.detail)
    return "The server had an error while processing your request."


def openai_error_of(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, the OpenAI error object, headers) for an exception, as /v1 would answer it;
    for interfaces that carry errors in their own frames (the WebSocket protocol)."""
    status, code, param, headers = _status_of(exc)
    error_type = exc.error_type if isinstance(exc, (UpstreamError, LimitExceeded)) else None
    body = {
        "message": _message_of(exc, status),
        "type": error_type or _OPENAI_TYPES.get(status, "error"),
        "param": param,
        "code": code,
    }
    return status, body, headers


def openai_error_parts(exc: Exception) -> tuple[int, bytes, dict[str, str]]:
    """(status, the OpenAI error JSON, headers) for an exception raised while serving /v1."""
    status, body, headers = openai_error_of(exc)
    if isinstance(exc, ValidationException):
        body["code"] = "invalid_request"
    return status, msgspec.json.encode({"error": body}), headers


LITESTAR_CLIENT_LEFT = "client disconnected prematurely"


def client_left(exc: Exception) -> bool:
    """Whether `exc` is Litestar's word that the client left before its body was read: no
    one is answered, nothing went wrong in the server."""
    return isinstance(exc, InternalServerException) and exc.detail == LITESTAR_CLIENT_LEFT


def log_if_unhandled(path: str, exc: Exception, status: int) -> None:
    """A 500 nobody meant is logged with its traceback (the client is told nothing of it)."""
    if is_database_busy(exc):
        log.warning("http.database_busy", path=path)
    elif is_redis_unavailable(exc):
        log.warning("http.redis_unavailable", path=path, error=type(exc).__name__)
    elif client_left(exc):
        log.info("http.client_left", path=path)  # mid-body, or cut by server.body_timeout
    elif status >= 500 and not isinstance(exc, (UpstreamError, ApiError)):
        log.error("http.unhandled", path=path, exc_info=exc)


def speaks_anthropic_at(path: str, anthropic_version: str | None) -> bool:
    """Whether errors at `path` are told in Anthropic's shape: on the Messages API, and on the
    model listing a caller reads with Anthropic's SDK (which always sends `anthropic-version`)."""
    if path.startswith("/v1/messages"):
        return True
    return anthropic_version is not None and (
        path == "/v1/models" or path.startswith("/v1/models/")
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    path = request.url.path
    unrouted = is_unrouted(request, exc)
    if is_gemini_path(request.method, path, "x-goog-api-key" in request.headers):
        return _google_error(request, exc, unrouted)
    anthropic = speaks_anthropic_at(path, request.headers.get("anthropic-version"))
    if path.startswith("/v1") and not anthropic:
        status, error, headers = openai_error_of(exc)
        if unrouted:
            error["message"] = unknown_path_message(request.method, path)
            error["code"] = UNKNOWN_PATH
        elif isinstance(exc, ValidationException):
            error["code"] = "invalid_request"
        log_if_unhandled(path, exc, status)
        body = msgspec.json.encode({"error": error})
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    status, code, param, headers = _status_of(exc)
    log_if_unhandled(path, exc, status)
    message = _message_of(exc, status)
    if unrouted:
        message, code = unknown_path_message(request.method, path), UNKNOWN_PATH
    if anthropic:
        if param and param not in message:  # Anthropic's shape has no `param`: name it here
            message = f"{param}: {message}"
        if isinstance(exc, UpstreamError):
            anthropic_status, anthropic_body = error_body(
                exc.anthropic_status, message, exc.anthropic_type
            )
        else:
            anthropic_status, anthropic_body = error_body(status, message)
        return Response(
            msgspec.json.encode(anthropic_body),
            status_code=anthropic_status,
            media_type="application/json",
            headers=headers,
        )
    if path.startswith("/scim/v2"):
        return scim_error(status, message, headers=headers)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        extra["errors"] = exc.extra
    if code:
        extra["code"] = code
    title = _OPENAI_TYPES.get(status, "error").replace("_", " ")
    return problem(status, title, message, extra=extra, headers=headers)


def _google_error(
    request: Request[Any, Any, Any], exc: Exception, unrouted: bool
) -> Response[bytes]:
    """Google's `{"error": {"code", "message", "status"}}`, the status name read from the HTTP
    status (a budget or rate limit's 429 is RESOURCE_EXHAUSTED, with its retry delay)."""
    path = request.url.path
    status, _, param, headers = _status_of(exc)
    log_if_unhandled(path, exc, status)
    message = _message_of(exc, status)
    if unrouted:
        message = unknown_path_message(request.method, path)
    elif param and param not in message:  # Google's shape has no `param`: name it here
        message = f"{param}: {message}"
    retry_after = exc.retry_after if isinstance(exc, UpstreamError) else None
    body = google_error(status, message, retry_after or headers.get("Retry-After"))
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
