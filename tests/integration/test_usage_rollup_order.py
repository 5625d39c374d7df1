"""Two workers projecting batches that share rollup rows lock those rows in the same order, so
one waits for the other instead of both deadlocking: the upserts go in the rows' order, however
the events came. The batches go through the projection's actor, handled by a real Dramatiq worker
on Dramatiq's `StubBroker`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker

from domains.billing.events import UsageRecorded
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import usage_rollup
from infrastructure.db.tables.meta import metadata
from infrastructure.messaging.broker import PROJECTIONS_QUEUE
from infrastructure.projections.analytics_fold import AnalyticsFolder
from infrastructure.projections.analytics_summaries import Summarizer
from infrastructure.projections.usage import UsageProjector
from interfaces.worker.actors import Actors, AnalyticsJobs, declare_actors

CODEC = EventCodec([UsageRecorded])


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


class Projecting:
    """The projection's actor on a `StubBroker`, and a worker handling its queue."""

    def __init__(self, engine: sa.Engine) -> None:
        self.broker = StubBroker()
        self.broker.emit_after("process_boot")
        self.actors: Actors = declare_actors(
            self.broker,
            UsageProjector(engine, CODEC),
            AnalyticsJobs(AnalyticsFolder(engine), Summarizer(engine)),
        )
        self.worker = dramatiq.Worker(self.broker, worker_threads=1)

    def project(self, events: Sequence[UsageRecorded]) -> None:
        """One message of `events`, handled: a failure of the actor is raised here."""
        self.actors.project_events.send([CODEC.encode(event).decode() for event in events])
        self.broker.join(PROJECTIONS_QUEUE, timeout=20_000)
        self.worker.join()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A SQLite file (a worker's thread sees the rows of the test's)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rollup.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def projecting(engine: sa.Engine) -> Iterator[Projecting]:
    projecting = Projecting(engine)
    projecting.worker.start()
    yield projecting
    projecting.worker.stop()
    projecting.broker.close()


def test_rollup_rows_are_upserted_in_their_order_whatever_the_events_order(
    engine: sa.Engine, projecting: Projecting
) -> None:
    upserted: list[list[tuple[str, str]]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO USAGE_ROLLUP"):
            rows = params if many else [params]
            upserted.append([(row[4], row[6]) for row in rows])  # (key_id, model)

    events = [usage(key, model) for key in ("k-b", "k-a", "k-c") for model in ("m-2", "m-1")]
    projecting.project(events)
    projecting.project([usage("k-b", "m-2"), usage("k-a", "m-1"), usage("k-b", "m-1")])
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
