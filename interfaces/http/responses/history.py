"""The conversation a `previous_response_id` continues: each stored response's input items,
then its output, oldest first, as far back as the responses are still stored. Another org's
response, or one past its retention, is a 404."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domains.shared.caller import Caller
from domains.shared.clock import utcnow
from infrastructure.queries.responses import conversation_before
from interfaces.http.errors import ApiError

STORABLE_ID = re.compile(r"\A[A-Za-z0-9_-]{1,128}\Z")
"""What a response id can be (the gateway's own and OpenAI's): anything else is stored
nowhere, and is not looked for."""


def previous_not_found(response_id: str) -> ApiError:
    shown = response_id if len(response_id) <= 200 else response_id[:200] + "…"
    return ApiError(
        404,
        f"Previous response with id '{shown}' not found.",
        code="previous_response_not_found",
        param="previous_response_id",
    )


async def history_before(
    engine: AsyncEngine, caller: Caller, previous_response_id: str
) -> list[dict[str, Any]]:
    """The conversation up to and including `previous_response_id`'s output, as stored (ids
    included: an `item_reference` in the new input may name one of them)."""
    chain = None
    if STORABLE_ID.match(previous_response_id):
        chain = await conversation_before(engine, previous_response_id, caller.org_id, utcnow())
    if chain is None:
        raise previous_not_found(previous_response_id)
    items: list[dict[str, Any]] = []
    for link in chain:
        items.extend(link.input_items)
        output = link.response.get("output")
        if isinstance(output, list):
            items.extend(item for item in output if isinstance(item, dict))
    return items
