"""The outbox table's writes: the one module that writes an event's row and sets or clears its
`dispatched_at`.

A row is written by the unit of work that commits its event (`write`), undispatched, or already
dispatched when a `whole` transaction carries it to every subscriber before it commits; a
periodic job's event, once per id (`write_once`). It is
marked dispatched once every subscriber handled its event (`mark_dispatched`, in the wave's
commit, or after a `whole` commit for the events a projection reads), or when the relay gives up
on it (`give_up`, with its dead letter); a replayed dead letter is put back undispatched
(`renew`). The relay's sweep reads the undispatched rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.shared.clock import utcnow
from domains.shared.events import Event
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.tables import outbox
from infrastructure.db.upsert import insert_for

_COLUMNS = ("event_id", "type", "payload", "occurred_at", "stored_at", "dispatched_at")
_PG_INSERT = recordset_insert(outbox, _COLUMNS)
_PG_MARK_DISPATCHED = (
    update(outbox)
    .where(outbox.c.event_id == any_(bindparam("ids", type_=ARRAY(String))))
    .values(dispatched_at=bindparam("at"))
)
# elsewhere (SQLite), statements built once: building one, and its cache key, every batch cost
# more CPU than running it
_INSERT = outbox.insert()
_MARK_DISPATCHED = (
    update(outbox)
    .where(outbox.c.event_id.in_(bindparam("ids", expanding=True)))
    .values(dispatched_at=bindparam("at"))
)
_CHUNK = 500
"""Ids a statement names at most, where a list is spelled out (not on PostgreSQL's arrays)."""


def never(_event: Event) -> bool:
    return False


async def write(
    conn: AsyncConnection,
    codec: EventCodec,
    events: Sequence[Event],
    *,
    dispatched: Callable[[Event], bool] = never,
) -> None:
    """The events' rows (those `dispatched` says, marked so as they are written): on PostgreSQL
    one statement of fixed text for the batch."""
    stored_at = utcnow()
    rows = [
        {
            "event_id": event.event_id,
            "type": type(event).__name__,
            "payload": codec.encode(event),
            "occurred_at": event.occurred_at,
            "stored_at": stored_at,
            "dispatched_at": stored_at if dispatched(event) else None,
        }
        for event in events
    ]
    if conn.dialect.name == "postgresql":
        await conn.execute(_PG_INSERT, as_recordset(outbox, rows))
    else:
        await conn.execute(_INSERT, rows)


def write_once(conn: Connection, codec: EventCodec, event: Event) -> bool:
    """The event's row, undispatched, unless the outbox holds its id already (a periodic job
    that raises an event with an id of its own, on a synchronous connection): whether it was
    written."""
    insert = insert_for(conn.dialect, outbox).values(
        event_id=event.event_id,
        type=type(event).__name__,
        payload=codec.encode(event),
        occurred_at=event.occurred_at,
        stored_at=utcnow(),
        dispatched_at=None,
    )
    written = conn.execute(
        insert.on_conflict_do_nothing(index_elements=["event_id"]).returning(outbox.c.id)
    )
    return written.first() is not None


async def mark_dispatched(conn: AsyncConnection, events: Sequence[Event]) -> None:
    """The events' rows marked dispatched, in the transaction `conn` is in: on PostgreSQL one
    statement of fixed text, whatever the number."""
    ids = [event.event_id for event in events]
    if conn.dialect.name == "postgresql":
        await conn.execute(_PG_MARK_DISPATCHED, {"ids": ids, "at": utcnow()})
        return
    for start in range(0, len(ids), _CHUNK):
        await conn.execute(_MARK_DISPATCHED, {"ids": ids[start : start + _CHUNK], "at": utcnow()})


async def give_up(conn: AsyncConnection, row_ids: Sequence[int], at: datetime) -> set[int]:
    """Those of these rows (by row id) still undispatched marked dispatched: the relay stops
    retrying them. The ids taken (another process may have taken the others first)."""
    taken = await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(row_ids))
        .where(outbox.c.dispatched_at.is_(None))
        .values(dispatched_at=at)
        .returning(outbox.c.id)
    )
    return set(taken.scalars())


async def renew(conn: AsyncConnection, event_id: str, *, due_at: datetime) -> Any:
    """The event's row undispatched again, with no retry spent and no failure, due at `due_at`
    (a replayed dead letter); its payload."""
    return (
        await conn.execute(
            update(outbox)
            .where(outbox.c.event_id == event_id)
            .values(
                dispatched_at=None,
                attempts=0,
                next_attempt_at=due_at,
                first_failed_at=None,
                failed_subscriber=None,
                error_class=None,
                error_message=None,
            )
            .returning(outbox.c.payload)
        )
    ).scalar_one()


async def stored(conn: AsyncConnection, event_ids: Sequence[str]) -> set[str]:
    """Which of these events have a row."""
    found: set[str] = set()
    for start in range(0, len(event_ids), _CHUNK):
        rows = await conn.execute(
            select(outbox.c.event_id).where(
                outbox.c.event_id.in_(event_ids[start : start + _CHUNK])
            )
        )
        found.update(rows.scalars())
    return found
