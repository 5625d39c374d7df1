"""`generate: false`: a response that prepares a conversation without asking the model (as
Codex CLI warms its connection up). Nothing goes upstream and nothing is billed: the socket
answers `response.created`, `response.in_progress` and `response.completed` with no output,
and keeps the input on the connection, so that the next `response.create` naming it as
`previous_response_id` sends that input before its own."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from interfaces.http.errors import ApiError
from interfaces.http.responses.translate_request import new_item_id
from interfaces.http.responses.translate_response import response_object, response_usage

_encoder = msgspec.json.Encoder()
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0}


def prepared_events(
    body: dict[str, Any], stream_id: str | None
) -> tuple[list[str], dict[str, Any]]:
    """The events that answer a `generate: false` request (`body` as it would be sent), and the
    response they end with."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(
            400,
            "Missing required parameter: `model`.",
            code="missing_required_parameter",
            param="model",
        )
    now, response_id = int(time.time()), new_item_id("response")
    started = response_object(
        body, response_id=response_id, created_at=now, model=model, status="in_progress", output=[]
    )
    done = response_object(
        body,
        response_id=response_id,
        created_at=now,
        model=model,
        status="completed",
        output=[],
        usage=response_usage(NO_USAGE),
        completed_at=now,
    )
    kinds = (
        ("response.created", started),
        ("response.in_progress", started),
        ("response.completed", done),
    )
    events = []
    for number, (kind, response) in enumerate(kinds):
        event: dict[str, Any] = {"type": kind, "sequence_number": number, "response": response}
        if stream_id is not None:
            event["stream_id"] = stream_id
        events.append(_encoder.encode(event).decode())
    return events, done
