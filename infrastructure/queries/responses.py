"""Reads of the responses `/v1/responses` stored: one response as its org sees it, and the
conversation a `previous_response_id` continues. A response of another org, or past its
retention, is not there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infrastructure.db.tables import stored_responses

MOST_LINKS = 1000
"""The most responses a continued conversation reaches back through."""


class ResponseView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    previous_response_id: str | None
    response: dict[str, Any]
    input_items: list[dict[str, Any]]


_COLUMNS = (
    stored_responses.c.id,
    stored_responses.c.previous_response_id,
    stored_responses.c.response,
    stored_responses.c.input_items,
)


async def _visible(
    conn: AsyncConnection, response_id: str, org_id: str, now: datetime
) -> ResponseView | None:
    query = select(*_COLUMNS).where(
        stored_responses.c.id == response_id,
        stored_responses.c.org_id == org_id,
        stored_responses.c.expires_at > now,
    )
    row = (await conn.execute(query)).first()
    return ResponseView(**row._mapping) if row is not None else None


async def stored_response(
    engine: AsyncEngine, response_id: str, org_id: str, now: datetime
) -> ResponseView | None:
    """The response, if `org_id`'s and within its retention at `now`."""
    async with engine.connect() as conn:
        return await _visible(conn, response_id, org_id, now)


async def conversation_before(
    engine: AsyncEngine, response_id: str, org_id: str, now: datetime
) -> list[ResponseView] | None:
    """The responses a request continuing `response_id` follows, oldest first, `response_id`
    last: it and its predecessors as far back as they are still stored (at most `MOST_LINKS`).
    None unless `response_id` itself is `org_id`'s and within its retention."""
    chain: list[ResponseView] = []
    seen: set[str] = set()
    async with engine.connect() as conn:
        following: str | None = response_id
        while following is not None and following not in seen and len(chain) < MOST_LINKS:
            found = await _visible(conn, following, org_id, now)
            if found is None:
                break
            chain.append(found)
            seen.add(following)
            following = found.previous_response_id
    if not chain:
        return None
    chain.reverse()
    return chain
