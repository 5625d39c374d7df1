"""A client's frame on the Responses WebSocket to the event it asks for, or the error that tells
it what is wrong (nothing here acts on it).

`response.create` carries the top-level fields of `POST /v1/responses` (checked by that route's
own code when the response is created) plus `stream_id`, the lane it runs on; `stream` is
implied and `background` is refused. `response.steer` is read so that it can be answered (the
gateway does not steer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interfaces.http.errors import ApiError
from interfaces.ws.decoding import BadMessage, decode_object, unknown_type

CREATE = "response.create"
STEER = "response.steer"
PROCESSED = "response.processed"
"""Codex CLI's word that it has read a response: nothing to answer."""
_KNOWN = f"`{CREATE}`, `{STEER}`, `{PROCESSED}`"
MAX_STREAM_ID = 128
TRANSPORT_FIELDS = ("type", "stream_id", "stream", "stream_options")
"""What the socket reads off a `response.create`: the rest is the body `POST` would take."""


@dataclass(frozen=True, slots=True)
class Create:
    body: dict[str, Any]
    """The `POST /v1/responses` body it stands for, streamed."""
    stream_id: str | None


@dataclass(frozen=True, slots=True)
class Steer:
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Processed:
    pass


ClientEvent = Create | Steer | Processed


def read_event(data: bytes, max_bytes: int) -> ClientEvent:
    raw = decode_object(data, max_bytes)
    stream_id = raw.get("stream_id")
    shown_id = stream_id if isinstance(stream_id, str) and stream_id else None
    kind = raw.get("type")
    if kind == CREATE:
        return _create(raw, stream_id, shown_id)
    if kind == STEER:
        return Steer(raw)
    if kind == PROCESSED:
        return Processed()
    if kind is None:
        missing = ApiError(
            400,
            "Missing required parameter: `type`.",
            code="missing_required_parameter",
            param="type",
        )
        raise BadMessage(missing, shown_id)
    raise BadMessage(unknown_type(kind, _KNOWN, "unknown_event_type"), shown_id)


def _create(raw: dict[str, Any], stream_id: object, shown_id: str | None) -> Create:
    if stream_id is not None and not (
        isinstance(stream_id, str) and 0 < len(stream_id) <= MAX_STREAM_ID
    ):
        raise BadMessage(
            ApiError(
                400,
                f"`stream_id` must be a string of 1 to {MAX_STREAM_ID} characters.",
                code="invalid_value",
                param="stream_id",
            )
        )
    if raw.get("background") is True:
        raise BadMessage(
            ApiError(
                400,
                "`background` is not supported over the WebSocket; use POST /v1/responses.",
                code="unsupported_parameter",
                param="background",
            ),
            shown_id,
        )
    body = {k: v for k, v in raw.items() if k not in TRANSPORT_FIELDS and k != "background"}
    body["stream"] = True
    return Create(body=body, stream_id=shown_id)
