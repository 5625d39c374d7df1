"""The billing ledger: one usage row per finished call, cost in picodollars."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from domains.billing.events import UsageRecorded
from domains.shared.money import to_picodollars
from infrastructure.db.tables import usage_records
from infrastructure.db.upsert import insert_for


class SqlUsageLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        if not usages:
            return set()
        statement = (
            insert_for(self._conn.dialect, usage_records)
            .on_conflict_do_nothing(index_elements=["source_event_id"])
            .returning(usage_records.c.source_event_id)
        )
        result = await self._conn.execute(statement, [_row(usage) for usage in usages])
        return {row[0] for row in result}


def _row(usage: UsageRecorded) -> dict[str, object]:
    return {
        "id": usage.usage_id,
        "source_event_id": usage.source_event_id,
        "request_id": usage.request_id,
        "ts": usage.occurred_at,
        "org_id": usage.org_id,
        "team_id": usage.team_id,
        "user_id": usage.user_id,
        "key_id": usage.key_id,
        "provider": usage.provider,
        "model": usage.model,
        "endpoint": usage.endpoint,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_picousd": to_picodollars(usage.cost_usd),
        "priced": usage.priced,
    }
