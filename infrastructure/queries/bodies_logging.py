"""Whether a team or a key keeps its calls' bodies (None: no such team or key)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import teams, virtual_keys


async def bodies_logged(engine: AsyncEngine, scope: str, target_id: str) -> bool | None:
    table = teams if scope == "team" else virtual_keys
    async with engine.connect() as conn:
        found = await conn.execute(select(table.c.log_bodies).where(table.c.id == target_id))
        value = found.scalar_one_or_none()
    return None if value is None else bool(value)
