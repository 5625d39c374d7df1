"""The billing ledger: one usage row per finished call, cost in picodollars."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.billing.events import UsageRecorded
from domains.shared.money import to_picodollars
from infrastructure.db.tables import usage_records
from infrastructure.db.upsert import insert_for


class SqlUsageLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def recorded_sources(self, source_event_ids: Iterable[str]) -> set[str]:
        ids = list(source_event_ids)
        if not ids:
            return set()
        rows = await self._conn.execute(
            select(usage_records.c.source_event_id).where(usage_records.c.source_event_id.in_(ids))
        )
        return {row[0] for row in rows}

    async def add(self, usage: UsageRecorded) -> bool:
        """Writes the usage unless its source event was already recorded (a concurrent
        delivery of the same event); True when written."""
        statement = (
            insert_for(self._conn.dialect, usage_records)
            .values(
                id=usage.usage_id,
                source_event_id=usage.source_event_id,
                request_id=usage.request_id,
                ts=usage.occurred_at,
                org_id=usage.org_id,
                team_id=usage.team_id,
                user_id=usage.user_id,
                key_id=usage.key_id,
                provider=usage.provider,
                model=usage.model,
                endpoint=usage.endpoint,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_tokens=usage.cached_tokens,
                cost_picousd=to_picodollars(usage.cost_usd),
                priced=usage.priced,
            )
            .on_conflict_do_nothing(index_elements=["source_event_id"])
            .returning(usage_records.c.id)
        )
        return (await self._conn.execute(statement)).first() is not None
