"""Any failure as the protocol's `error` message: the OpenAI error object /v1 would answer with,
its status, when to retry and the key's rate-limit figures. Never a traceback, never a secret."""

from __future__ import annotations

from typing import Any

import structlog

from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from infrastructure.db.engine import is_database_busy
from interfaces.http.errors import ApiError, openai_error_of
from interfaces.ws.messages import ErrorOut, rate_limits_of, routing_of

log = structlog.get_logger("fluxrouter.ws")


def too_many_generations(held: int, most: int, holding: str, then: str) -> ApiError | None:
    """The refusal (429 `too_many_generations`) of one more generation on a connection that
    holds `held` of the `most` it may (`holding`: what it holds, in words; `then`: what the
    client may do); None while there is room. The connection carries on either way."""
    if held < most:
        return None
    return ApiError(
        429, f"This connection {holding}, the most it may; {then}.", code="too_many_generations"
    )


def error_out(exc: Exception, generation_id: str | None = None) -> ErrorOut:
    status, error, headers = openai_error_of(exc)
    if is_database_busy(exc):
        log.warning("ws.database_busy", generation_id=generation_id)
    elif status >= 500 and not isinstance(exc, (UpstreamError, ApiError)):
        log.error("ws.unhandled", generation_id=generation_id, exc_info=exc)
    return ErrorOut(
        error=error,
        status=status,
        id=generation_id,
        retry_after=_seconds(headers),
        rate_limits=rate_limits_of(headers),
        routing=routing_of(headers),
    )


def stream_failure(
    ended_with: dict[str, Any] | None,
    finished: CompletionFinished | None,
    generation_id: str,
    routing: dict[str, str] | None = None,
) -> ErrorOut | None:
    """The `error` a generation's stream ends in: the error the upstream ended it with, or a cut
    (it stopped before it finished); None for a stream that finished. `routing`: how the
    generation was routed (its answer's `x-fluxrouter-*` headers)."""
    if ended_with is not None:
        status = finished.status if finished is not None else 502
        return ErrorOut(error=ended_with, status=status, id=generation_id, routing=routing)
    if finished is None or finished.outcome != "ok":
        cut = ApiError(
            502, "The upstream ended the stream before it finished.", code="upstream_error"
        )
        failure = error_out(cut, generation_id)
        failure.routing = routing
        return failure
    return None


def _seconds(headers: dict[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
