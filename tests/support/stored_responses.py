"""Building `StoreResponse` commands from a response and input items given as parsed JSON, as
the serving process's `Keeping` encodes them."""

from __future__ import annotations

from typing import Any

import msgspec

from application.conversations.commands import StoreResponse


def store_response(
    response: dict[str, Any], input_items: list[dict[str, Any]], **fields: Any
) -> StoreResponse:
    """Found by the response's own id, model and status; `fields`: the rest of the command."""
    return StoreResponse(
        response=msgspec.Raw(msgspec.json.encode(response)),
        input_items=msgspec.Raw(msgspec.json.encode(input_items)),
        response_id=str(response["id"]),
        model=str(response.get("model") or ""),
        status=str(response.get("status") or "completed"),
        **fields,
    )
