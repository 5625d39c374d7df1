"""The usage read model: UsageRecorded events summed per UTC day and dimension.

Synchronous, so that Dramatiq workers run it as it is. Idempotent: an event is applied once per
projection (`projection_applied`), in the same transaction as its increment.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete, select

from domains.billing.events import UsageRecorded
from domains.shared.money import to_picodollars
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import outbox, projection_applied, usage_rollup
from infrastructure.db.upsert import insert_for

PROJECTION = "usage"
EVENT_TYPES = frozenset({"UsageRecorded"})


def apply_usage(conn: Connection, events: Iterable[UsageRecorded]) -> int:
    applied = 0
    for event in events:
        claim = (
            insert_for(conn.dialect, projection_applied)
            .values(projection=PROJECTION, event_id=event.event_id)
            .on_conflict_do_nothing()
            .returning(projection_applied.c.event_id)
        )
        if conn.execute(claim).first() is None:
            continue  # applied before: a replay changes nothing
        cost = to_picodollars(event.cost_usd)
        row = insert_for(conn.dialect, usage_rollup).values(
            day=event.occurred_at.date().isoformat(),
            org_id=event.org_id,
            team_id=event.team_id,
            user_id=event.user_id or "",
            key_id=event.key_id,
            provider=event.provider,
            model=event.model,
            requests=1,
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            cost_picousd=cost,
        )
        conn.execute(
            row.on_conflict_do_update(
                index_elements=[c.name for c in usage_rollup.primary_key.columns],
                set_={
                    "requests": usage_rollup.c.requests + 1,
                    "input_tokens": usage_rollup.c.input_tokens + event.input_tokens,
                    "output_tokens": usage_rollup.c.output_tokens + event.output_tokens,
                    "cost_picousd": usage_rollup.c.cost_picousd + cost,
                },
            )
        )
        applied += 1
    return applied


class UsageProjector:
    def __init__(self, engine: Engine, codec: EventCodec) -> None:
        self._engine = engine
        self._codec = codec

    def apply_payloads(self, payloads: Iterable[str]) -> int:
        events = [self._codec.decode(payload) for payload in payloads]
        usage = [event for event in events if isinstance(event, UsageRecorded)]
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                return apply_usage(conn, usage)

    def rebuild(self, *, batch: int = 1000) -> int:
        """Empty the read model and replay every UsageRecorded from the event history."""
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                conn.execute(delete(usage_rollup))
                conn.execute(
                    delete(projection_applied).where(projection_applied.c.projection == PROJECTION)
                )
                total, last_id = 0, 0
                while True:
                    rows = conn.execute(
                        select(outbox.c.id, outbox.c.payload)
                        .where(outbox.c.type.in_(EVENT_TYPES), outbox.c.id > last_id)
                        .order_by(outbox.c.id)
                        .limit(batch)
                    ).all()
                    if not rows:
                        return total
                    last_id = rows[-1].id
                    decoded = [self._codec.decode(row.payload) for row in rows]
                    total += apply_usage(conn, [e for e in decoded if isinstance(e, UsageRecorded)])
