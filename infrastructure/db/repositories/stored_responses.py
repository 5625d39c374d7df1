"""The stored responses of `/v1/responses` over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.conversations.responses import ResponseRecord, StoredResponse
from domains.shared.aggregate import Aggregate
from domains.shared.errors import Conflict
from infrastructure.db.tables import stored_responses

_COLUMNS = (
    "id",
    "org_id",
    "team_id",
    "key_id",
    "user_id",
    "model",
    "status",
    "previous_response_id",
    "response",
    "input_items",
    "created_at",
    "expires_at",
)


class SqlStoredResponseRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, response: ResponseRecord) -> None:
        await self.add_all([response])

    async def add_all(self, responses: Sequence[ResponseRecord]) -> None:
        """The JSON columns are written as the records hold them (`msgspec.Raw`, which the
        engines' JSON serializer passes on as it is): never parsed, never encoded again."""
        rows = []
        for response in responses:
            values = {name: getattr(response, name) for name in _COLUMNS}
            values["model"] = response.model[:256]
            values["status"] = response.status[:16]
            values["response"] = msgspec.Raw(response.response)
            values["input_items"] = msgspec.Raw(response.input_items)
            rows.append(values)
        if not rows:
            return
        try:
            await self._conn.execute(stored_responses.insert(), rows)
        except IntegrityError as exc:
            raise Conflict("a response with one of these ids is stored already") from exc

    async def get(self, response_id: str) -> StoredResponse | None:
        query = select(stored_responses).where(stored_responses.c.id == response_id)
        row = (await self._conn.execute(query.with_for_update())).first()
        if row is None:
            return None
        response = StoredResponse(**{name: getattr(row, name) for name in _COLUMNS})
        self._seen.append(response)
        return response

    async def remove(self, response_id: str) -> None:
        await self._conn.execute(
            delete(stored_responses).where(stored_responses.c.id == response_id)
        )

    async def remove_expired(self, now: datetime, *, most: int) -> int:
        due = (
            select(stored_responses.c.id)
            .where(stored_responses.c.expires_at <= now)
            .order_by(stored_responses.c.expires_at)
            .limit(most)
        )
        ids = list((await self._conn.execute(due)).scalars())
        if not ids:
            return 0
        await self._conn.execute(delete(stored_responses).where(stored_responses.c.id.in_(ids)))
        return len(ids)
