"""The usage read model: UsageRecorded events summed per UTC day and dimension.

Synchronous, so that Dramatiq workers run it as it is. Idempotent: an event is applied once per
projection (`projection_applied`), in the same transaction as its increment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, delete, select

from domains.billing.events import UsageRecorded
from domains.shared.money import to_picodollars
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.tables import outbox, projection_applied, usage_rollup
from infrastructure.db.upsert import insert_for

PROJECTION = "usage"
EVENT_TYPES = frozenset({"UsageRecorded"})


_DIMENSIONS = ("day", "org_id", "team_id", "user_id", "key_id", "provider", "model")
_SUMS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cost_picousd",
    "cached_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)
# PostgreSQL: the claim as one statement with one parameter, whatever the batch's size (an
# executemany's rows cost most of the worker's CPU an event)
_PG_CLAIM = recordset_insert(
    projection_applied, ["projection", "event_id"], then="ON CONFLICT DO NOTHING RETURNING event_id"
)


_BUILT: dict[str, tuple[Any, Any]] = {}


def _statements(dialect: Dialect) -> tuple[Any, Any]:
    """The claim and the rollup upsert for `dialect`, built once (a batch's statements are the
    same every time; building them anew cost a sizeable part of the worker's CPU a batch)."""
    built = _BUILT.get(dialect.name)
    if built is None:
        claim = (
            insert_for(dialect, projection_applied)
            .on_conflict_do_nothing()
            .returning(projection_applied.c.event_id)
        )
        upsert = insert_for(dialect, usage_rollup)
        upsert = upsert.on_conflict_do_update(
            index_elements=list(_DIMENSIONS),
            set_={name: usage_rollup.c[name] + upsert.excluded[name] for name in _SUMS},
        )
        built = _BUILT[dialect.name] = (claim, upsert)
    return built


def apply_usage(conn: Connection, events: Iterable[UsageRecorded]) -> int:
    """Claims the events not applied before (one statement), sums them per rollup row in
    memory, and adds the sums with one upsert per row, the rows in the order of their
    dimensions: two workers whose batches share rows lock them in the same order, so they wait
    for each other instead of deadlocking."""
    pending = {event.event_id: event for event in events}
    if not pending:
        return 0
    rows = [{"projection": PROJECTION, "event_id": event_id} for event_id in pending]
    if conn.dialect.name == "postgresql":
        claimed = conn.execute(_PG_CLAIM, as_recordset(projection_applied, rows))
    else:
        claim = _statements(conn.dialect)[0]
        claimed = conn.execute(claim, rows)
    fresh = [pending[row[0]] for row in claimed]  # replays were claimed before
    sums: dict[tuple[str, ...], list[int]] = {}
    for event in fresh:
        key = (
            event.occurred_at.date().isoformat(),
            event.org_id,
            event.team_id,
            event.user_id or "",
            event.key_id,
            event.provider,
            event.model,
        )
        total = sums.setdefault(key, [0, 0, 0, 0, 0, 0, 0, 0])
        total[0] += 1
        total[1] += event.input_tokens
        total[2] += event.output_tokens
        total[3] += to_picodollars(event.cost_usd)
        total[4] += event.cached_tokens
        total[5] += event.cache_write_5m_tokens
        total[6] += event.cache_write_1h_tokens
        total[7] += event.reasoning_tokens
    if sums:
        conn.execute(
            _statements(conn.dialect)[1],
            [
                dict(zip(_DIMENSIONS + _SUMS, (*key, *total), strict=True))
                for key, total in sorted(sums.items())
            ],
        )
    return len(fresh)


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
