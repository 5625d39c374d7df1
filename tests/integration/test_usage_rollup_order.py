"""Two workers projecting batches that share rollup rows lock those rows in the same order, so
one waits for the other instead of both deadlocking: the upserts go in the rows' order, however
the events came."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from domains.billing.events import UsageRecorded
from infrastructure.db.tables import usage_rollup
from infrastructure.db.tables.meta import metadata
from infrastructure.projections.usage import apply_usage


def usage(key: str, model: str) -> UsageRecorded:
    return UsageRecorded(
        usage_id=secrets.token_hex(8),
        source_event_id=secrets.token_hex(8),
        request_id=secrets.token_hex(8),
        org_id="org-1",
        team_id="team-1",
        user_id=None,
        key_id=key,
        provider="openai",
        model=model,
        endpoint="chat",
        input_tokens=3,
        output_tokens=4,
        cached_tokens=0,
        cost_usd=Decimal("0.000001"),
        priced=True,
    )


def test_rollup_rows_are_upserted_in_their_order_whatever_the_events_order() -> None:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    upserted: list[list[tuple[str, str]]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO USAGE_ROLLUP"):
            rows = params if many else [params]
            upserted.append([(row[4], row[6]) for row in rows])  # (key_id, model)

    events = [usage(key, model) for key in ("k-b", "k-a", "k-c") for model in ("m-2", "m-1")]
    with engine.begin() as conn:
        assert apply_usage(conn, events) == 6
    with engine.begin() as conn:
        assert (
            apply_usage(conn, [usage("k-b", "m-2"), usage("k-a", "m-1"), usage("k-b", "m-1")]) == 3
        )
    assert upserted[0] == sorted(upserted[0])
    assert len(upserted[0]) == 6
    assert upserted[1] == [("k-a", "m-1"), ("k-b", "m-1"), ("k-b", "m-2")]
    with engine.connect() as conn:
        requests = dict(
            conn.execute(
                sa.select(usage_rollup.c.key_id, sa.func.sum(usage_rollup.c.requests)).group_by(
                    usage_rollup.c.key_id
                )
            ).all()
        )
    assert requests == {"k-a": 3, "k-b": 4, "k-c": 2}
