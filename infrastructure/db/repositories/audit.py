"""The audit log table. Appends are serialised: a transaction-scoped advisory lock on
PostgreSQL, `BEGIN IMMEDIATE` (one writer) on SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import String, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.audit.chain import AuditRow
from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.tables import audit_log

AUDIT_LOCK_ID = 0x46_4C_58_41_55_44  # "FLXAUD": the advisory lock of the chain


# Read under the lock, after it is granted (a statement that took the lock itself would read
# from a snapshot older than the lock): the head and which of the ids are in, in one round trip.
_PG_HEAD_AND_APPENDED = text(
    "(SELECT seq, hash, NULL AS event_id FROM audit_log ORDER BY seq DESC LIMIT 1)"
    " UNION ALL SELECT NULL, NULL, event_id FROM audit_log WHERE event_id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(String)))


# SQLite: the same reads, each a statement built once
_HEAD = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_APPENDED = select(audit_log.c.event_id).where(
    audit_log.c.event_id.in_(bindparam("ids", expanding=True))
)

_PG_LOCK = text("SELECT pg_advisory_xact_lock(:id)")
_INSERT = audit_log.insert()
_PG_APPEND = recordset_insert(
    audit_log,
    ("seq", "ts", "actor", "action", "target", "data", "prev_hash", "hash", "event_id"),
)


class SqlAuditLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_head(self, event_ids: Iterable[str]) -> tuple[tuple[int, str] | None, set[str]]:
        ids = list(event_ids)
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(_PG_LOCK, {"id": AUDIT_LOCK_ID})
            head: tuple[int, str] | None = None
            appended: set[str] = set()
            for seq, hash_, event_id in await self._conn.execute(
                _PG_HEAD_AND_APPENDED, {"ids": ids}
            ):
                if event_id is None:
                    head = (int(seq), str(hash_))
                else:
                    appended.add(event_id)
            return head, appended
        row = (await self._conn.execute(_HEAD)).first()
        return (int(row[0]), str(row[1])) if row else None, await self._appended(ids)

    async def _appended(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        rows = await self._conn.execute(_APPENDED, {"ids": ids})
        return {row[0] for row in rows}

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        if not rows:
            return
        values = [
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
        ]
        if self._conn.dialect.name == "postgresql":  # one statement of fixed text, in seq order
            await self._conn.execute(_PG_APPEND, as_recordset(audit_log, values))
        else:
            await self._conn.execute(_INSERT, values)


def _encode(data: object) -> str:
    # Any faithful JSON will do: the hash is always recomputed over the canonical (RFC 8785) form.
    return msgspec.json.encode(data).decode()
