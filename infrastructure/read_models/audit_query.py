"""Reading the audit log: keyset pages, and verifying the whole chain in flat memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain import AuditRow, ChainCheck, ChainVerifier
from infrastructure.db.tables import audit_log

_ROW_COLUMNS = (
    audit_log.c.seq,
    audit_log.c.ts,
    audit_log.c.actor,
    audit_log.c.action,
    audit_log.c.target,
    audit_log.c.data,
    audit_log.c.prev_hash,
    audit_log.c.hash,
)


def _row(record: Any) -> AuditRow:
    return AuditRow(
        seq=int(record.seq),
        ts=record.ts,
        actor=record.actor,
        action=record.action,
        target=record.target,
        data=json.loads(record.data),
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


async def audit_page(
    engine: AsyncEngine,
    *,
    after_seq: int = 0,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditRow]:
    query = select(*_ROW_COLUMNS).where(audit_log.c.seq > after_seq)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(audit_log.c.seq).limit(limit))).all()
    return [_row(row) for row in rows]


async def iter_audit(
    engine: AsyncEngine, *, from_seq: int = 1, batch: int = 1000
) -> AsyncIterator[AuditRow]:
    after = from_seq - 1
    while True:
        rows = await audit_page(engine, after_seq=after, limit=batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def verify_audit(engine: AsyncEngine) -> ChainCheck:
    verifier = ChainVerifier()
    async for row in iter_audit(engine):
        if not verifier.feed(row):
            break
    return verifier.result()
