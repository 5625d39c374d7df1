"""A client's frame to a validated protocol message, or the error that tells it what is wrong.

Nothing here acts on a message: a frame that fails any check is answered with an `error` and
changes nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from interfaces.http.errors import ApiError
from interfaces.http.openai.decoding import validated
from interfaces.ws.messages import CLIENT_TYPES, ClientMessage

_decoder = msgspec.json.Decoder()
_KNOWN = ", ".join(f"`{name}`" for name in CLIENT_TYPES)


class BadMessage(Exception):
    """A frame that is not a valid message; `id` is the generation it named, if it named one."""

    def __init__(self, error: ApiError, generation_id: str | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.generation_id = generation_id


def frame_bytes(event: dict[str, Any]) -> bytes:
    """The payload of a `websocket.receive` event, text or binary alike."""
    text = event.get("text")
    if text is not None:
        return str(text).encode()
    return bytes(event.get("bytes") or b"")


def read_message(data: bytes, max_bytes: int) -> tuple[ClientMessage, dict[str, Any]]:
    """The message and its raw object (whose other fields pass through to the model)."""
    raw = decode_object(data, max_bytes)
    generation_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    kind = raw.get("type")
    if kind is None:
        raise BadMessage(
            ApiError(400, "Missing required parameter: `type`", code="invalid_value", param="type"),
            generation_id,
        )
    schema = CLIENT_TYPES.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise BadMessage(unknown_type(kind, _KNOWN, "unknown_message_type"), generation_id)
    try:
        message = validated(raw, schema)
    except ApiError as error:
        raise BadMessage(error, generation_id) from None
    return message, raw


def decode_object(data: bytes, max_bytes: int) -> dict[str, Any]:
    """A frame's JSON object, within `max_bytes`; any other frame is a `BadMessage` (413
    `message_too_large`, 400 `invalid_json`). Every WebSocket protocol of the gateway reads its
    frames with it."""
    if len(data) > max_bytes:
        raise BadMessage(
            ApiError(
                413,
                f"The message is {len(data)} bytes; at most {max_bytes} are accepted.",
                code="message_too_large",
            )
        )
    try:
        raw = _decoder.decode(data)
    except msgspec.DecodeError as error:
        raise BadMessage(_invalid_json(f"The message is not valid JSON: {error}.")) from None
    except RecursionError:
        raise BadMessage(_invalid_json("The message is nested too deeply.")) from None
    if not isinstance(raw, dict):
        raise BadMessage(_invalid_json("A message must be a JSON object with a `type`."))
    return raw


def unknown_type(kind: object, known: str, code: str) -> ApiError:
    """The error for a message whose `type` is none of the protocol's (`known` lists them)."""
    shown = msgspec.json.encode(kind).decode()[:80]
    return ApiError(
        400, f"Unknown message type {shown}; expected one of {known}.", code=code, param="type"
    )


def _invalid_json(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_json")
