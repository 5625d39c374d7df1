"""What the server sends on the Responses WebSocket: the Responses stream events exactly as the
SSE stream of `POST /v1/responses` carries them (each one JSON text message, with the
`stream_id` of the `response.create` that asked for it), and `error` events in OpenAI's shape."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog

from domains.providers.errors import UpstreamError
from infrastructure.db.engine import is_database_busy
from interfaces.http.errors import ApiError, openai_error_of
from interfaces.ws.messages import rate_limits_of

log = structlog.get_logger("fluxrouter.ws")

_encoder = msgspec.json.Encoder()


def error_event(exc: Exception, stream_id: str | None = None) -> str:
    """`{"type": "error", "status", "error": {type, code, message, param, headers?},
    "headers"?}`: the status and error object `POST /v1/responses` would answer with; `headers`
    holds the `x-ratelimit-*` and `Retry-After` headers it would have sent (when it would)."""
    status, error, headers = openai_error_of(exc)
    if is_database_busy(exc):
        log.warning("ws.database_busy", stream_id=stream_id)
    elif status >= 500 and not isinstance(exc, (UpstreamError, ApiError)):
        log.error("ws.unhandled", stream_id=stream_id, exc_info=exc)
    told = dict(rate_limits_of(headers) or {})
    retry = headers.get("Retry-After") or headers.get("retry-after")
    if retry is not None:
        told["retry-after"] = retry
    event: dict[str, Any] = {"type": "error", "status": status, "error": error}
    if told:  # where the SDK reads them, and where Codex CLI does
        event["error"] = {**error, "headers": told}
        event["headers"] = told
    if stream_id is not None:
        event["stream_id"] = stream_id
    return _encoder.encode(event).decode()


def steer_failed(raw: dict[str, Any]) -> str:
    """The answer to `response.steer`: the gateway does not steer responses, so the input is
    handed back (`steering_not_supported`) for the client to send in its next
    `response.create`."""
    steer: dict[str, Any] = {
        "input": raw.get("input", ""),
        "previous_response_id": raw.get("previous_response_id", ""),
    }
    event = {
        "type": "response.steer.failed",
        "sequence_number": 0,
        "error": {
            "type": "invalid_request_error",
            "code": "steering_not_supported",
            "message": "This gateway does not steer responses; send the input in the next "
            "`response.create`.",
        },
        "steer": steer,
    }
    return _encoder.encode(event).decode()


_decoder = msgspec.json.Decoder()


def stream_event(
    payload: bytes, stream_id: str | None, previous_response_id: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """A stream event as the socket sends it (its JSON, `stream_id` added, the `response` it
    carries naming `previous_response_id` when given: the id the client continued, which the
    socket may have sent on as the conversation itself) and the event; None for a payload that
    is not a JSON object (nothing a client could not parse is sent)."""
    try:
        event = _decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    response = event.get("response")
    echo = False
    if isinstance(response, dict) and previous_response_id is not None:
        echo = response.get("previous_response_id") != previous_response_id
        named = {**response, "previous_response_id": previous_response_id}
        event = {**event, "response": named} if echo else event
    if stream_id is not None:
        event = {**event, "stream_id": stream_id}
    elif not echo:
        return payload.decode(), event
    return _encoder.encode(event).decode(), event
