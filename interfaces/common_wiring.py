"""Pieces every composition of the gateway builds the same way: the serving process's
(`interfaces.bootstrap`) and its accounting process's (`interfaces.accounting.composition`).
The redactor, the projections' broker and their hand-off, and the outbox relay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from infrastructure.security.redaction import Redactor

if TYPE_CHECKING:  # the rest is imported by the composition that builds it
    import dramatiq
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from infrastructure.db.event_codec import EventCodec
    from infrastructure.messaging.outbox_relay import OutboxRelay
    from infrastructure.observability.metrics import Metrics
    from infrastructure.projections.usage import UsageProjector
    from infrastructure.settings import Settings
    from interfaces.worker.actors import Actors

Enqueue = Callable[[list[str]], Awaitable[None]]


def redactor_for(settings: Settings) -> Redactor:
    """Scrubs the configured secrets (admin key, provider keys) and anything shaped like a key."""
    return Redactor([settings.admin.key, *(p.api_key for p in settings.providers)])


def projections_for(
    settings: Settings, sync_engine: Engine, codec: EventCodec
) -> tuple[dramatiq.Broker, UsageProjector, Actors, bool, Enqueue]:
    """The projections' broker (Redis, else in process), the projector, its actors, whether
    this process runs them itself (embedded: no Redis), and how events are handed to them."""
    from infrastructure.messaging.broker import create_broker
    from infrastructure.projections.usage import UsageProjector
    from interfaces.worker.actors import declare_actors

    broker = create_broker(settings.redis.url, namespace=settings.redis.namespace)
    projector = UsageProjector(sync_engine, codec)
    actors = declare_actors(broker, projector)
    embedded = settings.redis.url is None and settings.workers.embedded

    async def enqueue(payloads: list[str]) -> None:
        if settings.redis.url:
            await asyncio.to_thread(actors.project_events.send, payloads)
        else:
            actors.project_events.send(payloads)

    return broker, projector, actors, embedded, enqueue


def outbox_relay(
    settings: Settings,
    engine: AsyncEngine,
    codec: EventCodec,
    redactor: Redactor,
    metrics: Metrics | None,
    *,
    enqueue: Enqueue | None,
) -> OutboxRelay:
    """The outbox relay with the configured retries, its dead letters and (with `metrics`)
    their metrics."""
    from infrastructure.messaging.dead_letters import DeadLetters
    from infrastructure.messaging.outbox_relay import OutboxRelay
    from infrastructure.messaging.retry_policy import RetryPolicy
    from infrastructure.projections.usage import EVENT_TYPES as USAGE_EVENT_TYPES

    outbox = settings.outbox
    counted: dict[str, Any] = {}
    if metrics is not None:
        counters = metrics  # bound for the lambda
        counted = {
            "on_retried": counters.outbox_retries.inc,
            "on_dead_lettered": lambda kind: counters.outbox_dead_lettered.labels(kind).inc(),
        }
    relay = OutboxRelay(
        engine,
        codec,
        enqueue=enqueue,
        projected_types=USAGE_EVENT_TYPES,
        dead_letters=DeadLetters(engine, codec, redactor),
        policy=RetryPolicy(
            max_retries=outbox.max_retries,
            base_seconds=outbox.retry_base_seconds,
            max_seconds=outbox.retry_max_seconds,
        ),
        sweep_every=outbox.sweep_every_seconds,
        **counted,
    )
    if metrics is not None:
        metrics.watch_dead_letters(lambda: relay.pending_dead_letters)
    return relay
