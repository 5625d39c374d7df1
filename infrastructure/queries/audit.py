"""Reading the audit log: keyset pages (filtered by actor, action, target and time), and every
row in order, a batch at a time (verifying the chain is `audit_verify`'s)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain import AuditRow
from infrastructure.db.tables import audit_log

MAX_SEQ = 2**63 - 1
SCAN_AHEAD = 8
"""A time-window page first looks at the next SCAN_AHEAD * limit seqs."""

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


_data_decoder = msgspec.json.Decoder()


def _data(text: str) -> Any:
    """A row's `data`. msgspec reads JSON as the standard library does, faster, but refuses a
    number out of a float's range (and NaN or Infinity), which the standard library reads."""
    try:
        return _data_decoder.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def _row(record: Any) -> AuditRow:
    seq, ts, actor, action, target, data, prev_hash, digest = record  # _ROW_COLUMNS' order
    return AuditRow(int(seq), ts, actor, action, target, _data(data), prev_hash, digest)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which rows a page holds: all given conditions at once. `since` is inclusive, `until`
    exclusive, both compared with each row's `ts`."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (audit_log.c.actor, self.actor),
            (audit_log.c.action, self.action),
            (audit_log.c.target, self.target),
        ):
            if value is not None:
                found.append(column == value)
        if self.since is not None:
            found.append(audit_log.c.ts >= ts_text(self.since))
        if self.until is not None:
            found.append(audit_log.c.ts < ts_text(self.until))
        return found


def ts_text(moment: datetime) -> str:
    """`moment` as the audit log writes `ts` (UTC, microseconds, "Z"), whose text order is time
    order; years before 1000 keep their four digits."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


async def audit_page(
    engine: AsyncEngine,
    *,
    after_seq: int = 0,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRow]:
    """Up to `limit` rows with seq > `after_seq` that pass every filter given, in seq order.

    actor, action and target each have an index on (column, seq): the page is one index range.
    A time window is searched in two steps, so a page costs little wherever the window lies:
    first the next `SCAN_AHEAD * limit` seqs (rows are appended in nearly time order, so inside
    the window almost every row matches), then, if that did not fill the page, the (ts, seq)
    index over the window, beyond the seqs already looked at.
    """
    where = AuditFilter(actor, action, target, since, until).conditions()
    async with engine.connect() as conn:
        if since is None and until is None:
            query = _page_query(where, after_seq, limit)
            return [_row(row) for row in (await conn.execute(query)).all()]
        ahead = min(after_seq + SCAN_AHEAD * limit, MAX_SEQ)
        near = (
            await conn.execute(_page_query([*where, audit_log.c.seq <= ahead], after_seq, limit))
        ).all()
        if len(near) == limit or ahead == MAX_SEQ:
            return [_row(row) for row in near]
        beyond = (
            select(audit_log.c.seq)
            .where(audit_log.c.seq > ahead, *where)
            .order_by(audit_log.c.seq + 0)  # the window's index, not a walk along seq
            .limit(limit - len(near))
            .scalar_subquery()
        )
        far = (
            await conn.execute(
                select(*_ROW_COLUMNS).where(audit_log.c.seq.in_(beyond)).order_by(audit_log.c.seq)
            )
        ).all()
    return [_row(row) for row in (*near, *far)]


def _page_query(where: list[ColumnElement[bool]], after_seq: int, limit: int) -> Select[Any]:
    return (
        select(*_ROW_COLUMNS)
        .where(audit_log.c.seq > after_seq, *where)
        .order_by(audit_log.c.seq)
        .limit(limit)
    )


async def iter_audit(
    engine: AsyncEngine, *, from_seq: int = 1, to_seq: int = MAX_SEQ, batch: int = 1000
) -> AsyncIterator[AuditRow]:
    """The rows from `from_seq` to `to_seq` (both included), read `batch` at a time; no page
    reaches past `to_seq` (the checkpoint writer reads up to a head that keeps moving)."""
    after = from_seq - 1
    while after < to_seq:
        limit = min(batch, to_seq - after)
        rows = await audit_page(engine, after_seq=after, limit=limit)
        for row in rows:
            if row.seq > to_seq:
                return
            yield row
        if len(rows) < limit:
            return
        after = rows[-1].seq
