"""The billing ledger: one usage row per finished call, cost in picodollars.

On PostgreSQL a batch is one INSERT of `unnest`ed arrays, a statement of fixed text whatever the
batch's size: the driver parses it once, where a multi-row VALUES list with RETURNING would be a
new statement of sixteen parameters a row, parsed again for every batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import DateTime, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.billing.events import UsageRecorded
from domains.shared.money import to_picodollars
from infrastructure.db.tables import usage_records
from infrastructure.db.types import UtcDateTime
from infrastructure.db.upsert import insert_for


class SqlUsageLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        if not usages:
            return set()
        rows = [_row(usage) for usage in usages]
        if self._conn.dialect.name == "postgresql":
            arrays: dict[str, list[Any]] = {
                column.name: [row[column.name] for row in rows] for column in _COLUMNS
            }
            arrays["ts"] = [u.occurred_at.astimezone(UTC).replace(tzinfo=None) for u in usages]
            found = await self._conn.execute(_PG_INSERT, arrays)
            return {row[0] for row in found}
        statement = (
            insert_for(self._conn.dialect, usage_records)
            .on_conflict_do_nothing(index_elements=["source_event_id"])
            .returning(usage_records.c.source_event_id)
        )
        result = await self._conn.execute(statement, rows)
        return {row[0] for row in result}


def _pg_insert() -> Any:
    """INSERT … SELECT * FROM unnest(one array a column) … ON CONFLICT DO NOTHING RETURNING."""
    names = [column.name for column in usage_records.columns]
    arrays = [
        cast(
            bindparam(column.name),
            ARRAY(DateTime() if isinstance(column.type, UtcDateTime) else column.type),
        )
        for column in usage_records.columns
    ]
    rows = func.unnest(*arrays).table_valued(*names).render_derived()
    return (
        postgresql.insert(usage_records)
        .from_select(names, select(*(rows.c[name] for name in names)))
        .on_conflict_do_nothing(index_elements=["source_event_id"])
        .returning(usage_records.c.source_event_id)
    )


_COLUMNS = list(usage_records.columns)
_PG_INSERT = _pg_insert()


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
