"""The audit log table. Appends are serialised: a transaction-scoped advisory lock on
PostgreSQL, `BEGIN IMMEDIATE` (one writer) on SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.audit.chain import AuditRow
from infrastructure.db.tables import audit_log

AUDIT_LOCK_ID = 0x46_4C_58_41_55_44  # "FLXAUD": the advisory lock of the chain


_PG_APPENDED = select(audit_log.c.event_id).where(
    audit_log.c.event_id == any_(bindparam("ids", type_=ARRAY(String)))
)


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
        if self._conn.dialect.name == "postgresql":  # fixed text, whatever the number of ids
            rows = await self._conn.execute(_PG_APPENDED, {"ids": ids})
        else:
            rows = await self._conn.execute(
                select(audit_log.c.event_id).where(audit_log.c.event_id.in_(ids))
            )
        return {row[0] for row in rows}

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        if not rows:
            return
        await self._conn.execute(
            audit_log.insert(),
            [
                {
                    "seq": row.seq,
                    "ts": row.ts,
                    "actor": row.actor,
                    "action": row.action,
                    "target": row.target,
                    "data": _encode(row.data),
                    "prev_hash": row.prev_hash,
                    "hash": row.hash,
                    "event_id": event_id,
                }
                for row, event_id in rows
            ],
        )


def _encode(data: object) -> str:
    # Any faithful JSON will do: the hash is always recomputed over the canonical (RFC 8785) form.
    return msgspec.json.encode(data).decode()
