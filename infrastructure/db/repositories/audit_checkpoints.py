"""The audit checkpoints table, and the chain as the checkpoint writer reads it.

Storing a checkpoint takes its own lock (a transaction-scoped PostgreSQL advisory lock, tried
without waiting; `BEGIN IMMEDIATE` on SQLite), not the chain's: appends never wait for it. Whoever
holds it stores the checkpoint only if no checkpoint at this seq or a later one exists yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain import AuditRow
from domains.audit.checkpoint import Checkpoint
from infrastructure.db.engine import WRITE_OPTION
from infrastructure.db.tables import audit_checkpoints
from infrastructure.queries.audit import iter_audit
from infrastructure.queries.audit_verify import audit_head

CHECKPOINT_LOCK_ID = 0x46_4C_58_43_4B_50  # "FLXCKP": the advisory lock of checkpoint writers


def _checkpoint(record: Any) -> Checkpoint:
    return Checkpoint(
        seq=int(record.seq),
        hash=record.hash,
        ts=record.ts,
        key_id=record.key_id,
        signature=record.signature,
        chain=record.chain,
    )


async def stored_checkpoints(engine: AsyncEngine) -> list[Checkpoint]:
    """Every checkpoint in the database, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq))
        return [_checkpoint(row) for row in rows]


class SqlCheckpointLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def head(self) -> tuple[int, str] | None:
        return await audit_head(self._engine)

    async def row_at(self, seq: int) -> AuditRow | None:
        async for row in iter_audit(self._engine, from_seq=seq, batch=1):
            return row if row.seq == seq else None
        return None

    def rows(self, from_seq: int, to_seq: int) -> AsyncIterator[AuditRow]:
        return iter_audit(self._engine, from_seq=from_seq, to_seq=to_seq)

    async def latest(self) -> Checkpoint | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
                )
            ).first()
        return _checkpoint(row) if row else None

    async def add(
        self, checkpoint: Checkpoint, also: Callable[[Checkpoint], Awaitable[None]]
    ) -> bool:
        async with self._engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    locked = await conn.scalar(
                        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": CHECKPOINT_LOCK_ID}
                    )
                    if not locked:
                        return False
                newest = await conn.scalar(select(func.max(audit_checkpoints.c.seq)))
                if newest is not None and newest >= checkpoint.seq:
                    return False
                await conn.execute(audit_checkpoints.insert().values(**checkpoint.as_dict()))
                await also(checkpoint)
        return True
