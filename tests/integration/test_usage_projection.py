"""The usage read model, projected by a real Dramatiq worker: over the Redis broker on
PostgreSQL, over Dramatiq's `StubBroker` on the embedded SQLite shape. A test waits for the
projections as Dramatiq's own tests do: `broker.join(queue)` (on the stub it raises the failure of
a message that was dead-lettered), then `worker.join()`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import dramatiq
import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker

from application.providers.commands import RecordCompletions
from domains.providers.events import CompletionFinished
from infrastructure.db.tables import outbox
from infrastructure.messaging.broker import PROJECTIONS_QUEUE
from infrastructure.read_models.usage_query import usage_by
from interfaces.bootstrap import Container
from tests.integration.conftest import container_for
from tests.support.services import REDIS_URL


@dataclass(frozen=True)
class Projecting:
    container: Container
    worker: dramatiq.Worker

    async def settled(self) -> None:
        """Every message of the projections' queue handled, and the worker idle."""
        await asyncio.to_thread(self.container.broker.join, PROJECTIONS_QUEUE, timeout=20_000)
        await asyncio.to_thread(self.worker.join)


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.redis]),
        pytest.param("sqlite"),
    ]
)
async def projecting(request: pytest.FixtureRequest) -> AsyncIterator[Projecting]:
    """A container and a Dramatiq worker on its broker."""
    if request.param == "postgresql":
        namespace = f"fluxrouter-it-{secrets.token_hex(4)}"
        container = container_for(
            request.getfixturevalue("migrated_pg"),
            FLUXROUTER_REDIS_URL=REDIS_URL,
            FLUXROUTER_REDIS_NAMESPACE=namespace,
        )
    else:
        # embedded: the outbox's events are sent to the stub's queue, for a worker of this
        # process (the container's own starts only with the container, which this one is not)
        container = container_for(request.getfixturevalue("migrated_sqlite"))
        assert isinstance(container.broker, StubBroker)
    worker = dramatiq.Worker(container.broker, worker_threads=1)
    worker.start()
    try:
        yield Projecting(container, worker)
    finally:
        worker.stop()
        container.broker.close()
        await container.engine.dispose()
        container.sync_engine.dispose()


def completion(
    model: str, tokens_in: int, tokens_out: int, key: str, **parts: int
) -> CompletionFinished:
    return CompletionFinished(
        request_id=secrets.token_hex(8),
        endpoint="chat",
        key_id=key,
        team_id="team-p",
        org_id="org-p",
        user_id=None,
        provider="openai",
        model=model,
        upstream_model=model,
        stream=False,
        status=200,
        outcome="ok",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        **parts,
    )


async def test_worker_projects_usage_idempotently_and_rebuild_matches(
    projecting: Projecting,
) -> None:
    container = projecting.container
    key = f"key-{secrets.token_hex(4)}"
    # No prices configured in this container: cost 0, tokens exact.
    batch = (
        completion(
            "gpt-4o-mini",
            10,
            20,
            key,
            cached_tokens=4,
            cache_write_5m_tokens=2,
            cache_write_1h_tokens=1,
            reasoning_tokens=15,
        ),
        completion("gpt-4o-mini", 1, 2, key, cached_tokens=1, reasoning_tokens=2),
        completion("gpt-4o", 5, 5, key),
    )
    await container.bus.handle(RecordCompletions(completions=batch))
    await projecting.settled()
    rows = {row.group: row for row in await usage_by(container.engine, "model")}
    assert (
        rows["gpt-4o-mini"].requests,
        rows["gpt-4o-mini"].input_tokens,
        rows["gpt-4o-mini"].output_tokens,
    ) == (2, 11, 22)
    mini = rows["gpt-4o-mini"]
    assert (
        mini.cached_tokens,
        mini.cache_write_5m_tokens,
        mini.cache_write_1h_tokens,
        mini.reasoning_tokens,
    ) == (5, 2, 1, 17)
    assert rows["gpt-4o"].requests == 1
    assert rows["gpt-4o"].reasoning_tokens == 0
    assert Decimal(rows["gpt-4o"].cost_usd) == 0

    # Deliver the same UsageRecorded events again: the read model does not move.
    await container.bus.publish(
        [container.codec.decode(p) for p in await _usage_payloads(container)]
    )
    await projecting.settled()
    again = {row.group: row for row in await usage_by(container.engine, "model")}
    assert again == rows

    # Rebuilding from the event history gives the same totals.
    assert await asyncio.to_thread(container.projector.rebuild) == 3
    rebuilt = {row.group: row for row in await usage_by(container.engine, "model")}
    assert rebuilt == rows


async def _usage_payloads(container: Container) -> list[bytes]:
    async with container.engine.connect() as conn:
        result = await conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.type == "UsageRecorded")
        )
        return [row[0] for row in result]
