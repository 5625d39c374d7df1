"""The alerts' delivery log, newest first, keyset-paged by id (ids sort by creation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import alert_deliveries


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    event_id: str
    event_type: str
    webhook: str
    status: str
    attempts: int
    status_code: int | None
    error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


async def delivery_page(
    engine: AsyncEngine,
    *,
    before: str | None = None,
    limit: int = 100,
    status: str | None = None,
    webhook: str | None = None,
    event_id: str | None = None,
) -> list[DeliveryView]:
    table = alert_deliveries
    query = (
        select(
            table.c.id,
            table.c.event_id,
            table.c.event_type,
            table.c.webhook,
            table.c.status,
            table.c.attempts,
            table.c.status_code,
            table.c.error,
            table.c.created_at,
            table.c.next_attempt_at,
            table.c.delivered_at,
        )
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(table.c.id < before)
    if status is not None:
        query = query.where(table.c.status == status)
    if webhook is not None:
        query = query.where(table.c.webhook == webhook)
    if event_id is not None:
        query = query.where(table.c.event_id == event_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [DeliveryView(**row._mapping) for row in rows]
