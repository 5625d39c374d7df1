"""The audit log table. Appends are serialised: a transaction-scoped advisory lock on
PostgreSQL, `BEGIN IMMEDIATE` (one writer) on SQLite."""

from __future__ import annotations

from collections.abc import Iterable

import rfc8785
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.audit.chain import AuditRow
from infrastructure.db.tables import audit_log

AUDIT_LOCK_ID = 0x46_4C_58_41_55_44  # "FLXAUD": the advisory lock of the chain


class SqlAuditLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_head(self) -> tuple[int, str] | None:
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": AUDIT_LOCK_ID}
            )
        row = (
            await self._conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
            )
        ).first()
        return (int(row[0]), str(row[1])) if row else None

    async def appended_events(self, event_ids: Iterable[str]) -> set[str]:
        ids = list(event_ids)
        if not ids:
            return set()
        rows = await self._conn.execute(
            select(audit_log.c.event_id).where(audit_log.c.event_id.in_(ids))
        )
        return {row[0] for row in rows}

    async def append(self, row: AuditRow, event_id: str | None) -> None:
        await self._conn.execute(
            audit_log.insert().values(
                seq=row.seq,
                ts=row.ts,
                actor=row.actor,
                action=row.action,
                target=row.target,
                data=rfc8785.dumps(row.data).decode(),
                prev_hash=row.prev_hash,
                hash=row.hash,
                event_id=event_id,
            )
        )
