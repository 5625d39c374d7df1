"""Dead letters: the events the outbox relay gave up delivering after its retries.

A failed delivery is kept on the event's outbox row (which subscriber, the error's class and its
message, redacted and shortened). When the relay's retries are spent, `bury` writes a dead letter
with that failure, marks the row dispatched (it leaves the relay's pending rows; the payload
stays in the outbox), and records an `EventDeadLettered` for the audit log, all in one
transaction. `replay` puts the row back in the relay's hands with its retries renewed and records
a `DeadLetterReplayed`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import DeliveryFailure
from domains.shared.clock import utcnow
from domains.shared.delivery import DeadLetterReplayed, EventDeadLettered
from domains.shared.errors import Conflict, NotFound
from domains.shared.events import Event
from domains.shared.ids import new_id
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.outbox import give_up, renew
from infrastructure.db.outbox import write as write_outbox
from infrastructure.db.tables import outbox, outbox_dead_letters
from infrastructure.messaging.delivery_errors import described
from infrastructure.security.redaction import Redactor


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    id: str
    event_id: str
    event_type: str
    subscriber: str | None
    error_class: str | None
    error_message: str | None
    attempts: int
    first_failed_at: datetime | None
    dead_lettered_at: datetime
    replayed_at: datetime | None
    replayed_by: str | None


@dataclass(frozen=True, slots=True)
class Replay:
    letter: DeadLetterView
    event: Event
    """The event delivered again."""
    audited: DeadLetterReplayed


def _view(row: Any) -> DeadLetterView:
    return DeadLetterView(
        **{f.name: getattr(row, f.name) for f in dataclasses.fields(DeadLetterView)}
    )


class DeadLetters:
    def __init__(self, engine: AsyncEngine, codec: EventCodec, redact: Redactor) -> None:
        self._engine = engine
        self._codec = codec
        self._redact = redact

    async def record_failures(self, failures: Sequence[DeliveryFailure]) -> None:
        """Keeps each failure on its events' outbox rows (the last one seen wins)."""
        now = utcnow()
        conn = await begin_writing(self._engine)
        try:
            for failure in failures:
                error_class, message = described(failure.error, self._redact)
                ids = list(failure.event_ids)
                for start in range(0, len(ids), 500):
                    await conn.execute(
                        update(outbox)
                        .where(outbox.c.event_id.in_(ids[start : start + 500]))
                        .values(
                            failed_subscriber=failure.subscriber[:200],
                            error_class=error_class[:200],
                            error_message=message,
                            first_failed_at=func.coalesce(outbox.c.first_failed_at, now),
                        )
                    )
            await conn.commit()
        finally:
            await end_writing(conn)

    async def bury(self, rows: Sequence[Any]) -> list[EventDeadLettered]:
        """Dead letters for these outbox rows (their retries spent), unless another process
        took them first; the events recording it, written to the outbox, to publish."""
        now = utcnow()
        conn = await begin_writing(self._engine)
        try:
            taken = await give_up(conn, [row.id for row in rows], now)
            letters, events = [], []
            for row in rows:
                if row.id not in taken:
                    continue
                letter = {
                    "id": new_id(),
                    "event_id": row.event_id,
                    "event_type": row.type,
                    "subscriber": row.failed_subscriber,
                    "error_class": row.error_class,
                    "error_message": row.error_message,
                    "attempts": row.attempts + 1,  # the first delivery, then each retry
                    "first_failed_at": row.first_failed_at,
                    "dead_lettered_at": now,
                }
                letters.append(letter)
                events.append(
                    EventDeadLettered(
                        dead_letter_id=letter["id"],
                        dead_event_id=row.event_id,
                        dead_event_type=row.type,
                        subscriber=row.failed_subscriber,
                        error_class=row.error_class,
                        attempts=letter["attempts"],
                    )
                )
            if letters:
                await conn.execute(outbox_dead_letters.insert(), letters)
                await write_outbox(conn, self._codec, list(events))
            await conn.commit()
        finally:
            await end_writing(conn)
        return events

    async def replay(self, letter_id: str, *, actor: str, due_at: datetime) -> Replay:
        """The dead letter's event back in the outbox, undelivered, with no retry spent, due at
        `due_at`; NotFound, or Conflict once it was replayed."""
        now = utcnow()
        conn = await begin_writing(self._engine)
        try:
            row = (
                await conn.execute(
                    select(outbox_dead_letters).where(outbox_dead_letters.c.id == letter_id)
                )
            ).first()
            if row is None:
                raise NotFound("There is no such dead letter.")
            if row.replayed_at is not None:
                raise Conflict(f"The dead letter {letter_id} was replayed already.")
            taken = await conn.execute(
                update(outbox_dead_letters)
                .where(outbox_dead_letters.c.id == letter_id)
                .where(outbox_dead_letters.c.replayed_at.is_(None))
                .values(replayed_at=now, replayed_by=actor[:200])
            )
            if taken.rowcount != 1:
                raise Conflict(f"The dead letter {letter_id} was replayed already.")
            payload = await renew(conn, row.event_id, due_at=due_at)
            audited = DeadLetterReplayed(
                dead_letter_id=letter_id,
                dead_event_id=row.event_id,
                dead_event_type=row.event_type,
                actor=actor,
            )
            await write_outbox(conn, self._codec, [audited])
            await conn.commit()
        finally:
            await end_writing(conn)
        letter = dataclasses.replace(_view(row), replayed_at=now, replayed_by=actor)
        return Replay(letter=letter, event=self._codec.decode(payload), audited=audited)

    async def page(
        self, *, after: str | None = None, limit: int = 100, pending: bool | None = None
    ) -> list[DeadLetterView]:
        """Oldest first, keyset-paged by id; `pending`: only those not replayed (or only
        those replayed, False)."""
        query = select(outbox_dead_letters).order_by(outbox_dead_letters.c.id).limit(limit)
        if after is not None:
            query = query.where(outbox_dead_letters.c.id > after)
        if pending is not None:
            replayed = outbox_dead_letters.c.replayed_at
            query = query.where(replayed.is_(None) if pending else replayed.is_not(None))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_view(row) for row in rows]

    async def pending(self) -> int:
        """How many dead letters were not replayed."""
        async with self._engine.connect() as conn:
            count = await conn.execute(
                select(func.count())
                .select_from(outbox_dead_letters)
                .where(outbox_dead_letters.c.replayed_at.is_(None))
            )
            return int(count.scalar_one())

    async def delivered(self, event_id: str) -> bool:
        """Whether the event's outbox row is marked dispatched."""
        async with self._engine.connect() as conn:
            at = await conn.execute(
                select(outbox.c.dispatched_at).where(outbox.c.event_id == event_id)
            )
            return at.scalar_one_or_none() is not None
