"""The conversation a `previous_response_id` continues: each stored response's input items,
then its output, oldest first, as far back as the responses are still stored. Another org's
response, or one past its retention, is a 404."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from application.conversations.response_store import ResponseStore
from domains.shared.caller import Caller
from domains.shared.clock import utcnow
from infrastructure.queries.responses import conversation_before
from interfaces.http.errors import ApiError

STORABLE_ID = re.compile(r"\A[A-Za-z0-9_-]{1,128}\Z")
"""What a response id can be (the gateway's own and OpenAI's): anything else is stored
nowhere, and is not looked for."""


T = TypeVar("T")

ANOTHER_REPLICA_WAITS = (0.05, 0.1)
"""How long a response not found is looked for again (seconds, one wait per try): one another
replica answered a moment ago may be in the group commit it is handed to, not yet written."""


async def looked_up(
    store: ResponseStore, response_id: str, find: Callable[[], Awaitable[T | None]]
) -> T | None:
    """What `find` reads of `response_id` once stored: after this process's own write of it, if
    it is writing it; and tried again a moment later when not found, in case another replica
    is. None: it is not stored (or not a storable id)."""
    if not STORABLE_ID.match(response_id):
        return None
    await store.written(response_id)
    found = await find()
    for wait in ANOTHER_REPLICA_WAITS:
        if found is not None:
            break
        await asyncio.sleep(wait)
        found = await find()
    return found


def previous_not_found(response_id: str) -> ApiError:
    shown = response_id if len(response_id) <= 200 else response_id[:200] + "…"
    return ApiError(
        404,
        f"Previous response with id '{shown}' not found.",
        code="previous_response_not_found",
        param="previous_response_id",
    )


async def history_before(
    engine: AsyncEngine, store: ResponseStore, caller: Caller, previous_response_id: str
) -> list[dict[str, Any]]:
    """The conversation up to and including `previous_response_id`'s output, as stored (ids
    included: an `item_reference` in the new input may name one of them)."""
    chain = await looked_up(
        store,
        previous_response_id,
        lambda: conversation_before(engine, previous_response_id, caller.org_id, utcnow()),
    )
    if chain is None:
        raise previous_not_found(previous_response_id)
    items: list[dict[str, Any]] = []
    for link in chain:
        items.extend(link.input_items)
        output = link.response.get("output")
        if isinstance(output, list):
            items.extend(item for item in output if isinstance(item, dict))
    return items
