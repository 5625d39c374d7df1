"""Verifying the audit log in the database against its signed checkpoints.

Incremental (the default): every checkpoint's signature is checked and its seq/hash compared
with the table; the links of the rows up to the newest checkpoint that still matches (seq
consecutive, each prev_hash the hash before it) are checked in one SQL pass; hashes are
recomputed from that checkpoint's row (included: a row edited in place keeps the hash the
checkpoint signed, so only recomputing it tells) to the head, so the newest row is always
rehashed. Full: every row's hash is recomputed. Either way the answer's head is the table's
newest row, wherever the chain breaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain import GENESIS_HASH, link_break
from domains.audit.checkpoint import (
    AnchoredCheck,
    AnchoredVerifier,
    Anchors,
    Checkpoint,
    Finding,
    SignatureCheck,
    mismatch,
)
from infrastructure.db.tables import audit_log
from infrastructure.queries.audit import iter_audit

_CHUNK = 500


async def audit_head(engine: AsyncEngine) -> tuple[int, str] | None:
    """The newest row's (seq, hash), or None when the log is empty."""
    query = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return (int(row[0]), str(row[1])) if row else None


async def genesis_hash(engine: AsyncEngine) -> str | None:
    """The hash of row 1, which names the chain (None: no such row)."""
    async with engine.connect() as conn:
        found = await conn.scalar(select(audit_log.c.hash).where(audit_log.c.seq == 1))
    return str(found) if found is not None else None


async def stored_hashes(engine: AsyncEngine, seqs: Iterable[int]) -> dict[int, str]:
    """The hash of each of these rows that exists."""
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    async with engine.connect() as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = await conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(chunk))
            )
            found.update((int(seq), str(digest)) for seq, digest in rows)
    return found


async def first_broken_link(engine: AsyncEngine, upto: int) -> Finding | None:
    """The first row up to `upto` that does not follow the row before it, without hashing."""
    seq, prev_hash = audit_log.c.seq, audit_log.c.prev_hash
    lagged = (
        select(
            seq,
            prev_hash,
            func.lag(seq).over(order_by=seq).label("before_seq"),
            func.lag(audit_log.c.hash).over(order_by=seq).label("before_hash"),
        )
        .where(seq <= upto)
        .subquery()
    )
    first = lagged.c.before_seq.is_(None)
    query = (
        select(lagged)
        .where(
            or_(
                and_(first, or_(lagged.c.seq != 1, lagged.c.prev_hash != GENESIS_HASH)),
                and_(
                    ~first,
                    or_(
                        lagged.c.seq != lagged.c.before_seq + 1,
                        lagged.c.prev_hash != lagged.c.before_hash,
                    ),
                ),
            )
        )
        .order_by(lagged.c.seq)
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    before = (int(row.before_seq), str(row.before_hash)) if row.before_seq is not None else None
    reason = link_break(before, int(row.seq), str(row.prev_hash))
    return Finding(int(row.seq), reason or "broken link")


async def _prev_hash(engine: AsyncEngine, seq: int) -> str | None:
    async with engine.connect() as conn:
        found = await conn.scalar(select(audit_log.c.prev_hash).where(audit_log.c.seq == seq))
    return str(found) if found is not None else None


async def verify_audit_log(
    engine: AsyncEngine,
    checkpoints: Iterable[Checkpoint],
    check: SignatureCheck | None,
    *,
    full: bool = False,
    more: Iterable[Finding] = (),
) -> AnchoredCheck:
    """The chain in the database checked against the checkpoints (`more`: findings made while
    gathering them, such as an unreadable checkpoint file)."""
    anchors = Anchors(checkpoints, check)
    stored = await stored_hashes(engine, anchors.by_seq)
    findings = list(more)
    findings += [
        mismatch(anchor)
        for seq, anchor in anchors.by_seq.items()
        if seq in stored and stored[seq] != anchor.hash
    ]
    start: tuple[int, str] | None = None
    if not full:
        matching = [seq for seq, anchor in anchors.by_seq.items() if stored.get(seq) == anchor.hash]
        if matching:
            base = anchors.by_seq[max(matching)]
            broken = await first_broken_link(engine, base.seq)
            if broken is not None:
                findings.append(broken)
            before = await _prev_hash(engine, base.seq)
            # from the row before the checkpoint's, as the links just checked name it
            start = (base.seq - 1, before) if base.seq > 1 and before is not None else None
    verifier = AnchoredVerifier(anchors, start)
    async for row in iter_audit(engine, from_seq=start[0] + 1 if start else 1):
        if not verifier.feed(row):
            break
    result = verifier.result(findings)
    head = await audit_head(engine)
    if head is None or (result.head_seq, result.head_hash) == head:
        return result
    return dataclasses.replace(result, head_seq=head[0], head_hash=head[1])
