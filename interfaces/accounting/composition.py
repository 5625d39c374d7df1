"""What the accounting process is made of: only what writing batches of finished calls and what
follows from them needs. No HTTP app, no provider client, no single sign-on, no authenticator.

- the database engines, and the bus with the handlers of `RecordCompletions` and `RecordEvents`;
- the subscribers an event reaches in any gateway process and that act beyond it, since this
  process's outbox relay may be the one that publishes an event again (`OutboxRelay.sweep`):
  billing's usage records, the limits reload, the audit chain, the end of a deactivated
  person's dashboard sessions and, with Redis, the broadcast of key revocations. Forgetting a
  key in an authentication cache is left out: this process authenticates no one;
- the limits and prices (it prices the calls), the outbox relay, the audit checkpoint writer
  and, embedded, the projections' worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.limits_cache import LimitsCache
from application.bus import MessageBus
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.wave import SqlTransactions
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.security.redaction import Redactor
from infrastructure.settings import Settings
from infrastructure.sso.session_stores import RedisSessionStore
from interfaces.audit_wiring import start_checkpoints
from interfaces.billing_wiring import limits_cache
from interfaces.common_wiring import (
    alert_enqueue,
    body_scrubber_for,
    outbox_relay,
    projections_for,
    redactor_for,
    registry_for,
)


def _ignore(_key: str = "") -> None:
    """What a key revocation heard here does: nothing (this process holds no key)."""


@dataclass
class Accounting:
    settings: Settings
    engine: AsyncEngine
    sync_engine: Engine
    bus: MessageBus
    limits: LimitsCache
    relay: OutboxRelay
    redactor: Redactor
    broker: dramatiq.Broker
    embedded_worker: bool
    revocations: KeyRevocationChannel | None = None
    sessions: RedisSessionStore | None = None
    checkpointer: Checkpointer | None = None
    _worker: dramatiq.Worker | None = field(default=None, repr=False)

    async def start(self) -> None:
        """The checkpoint writer, embedded the projections, the prices, the relay."""
        _, self.checkpointer = await start_checkpoints(self.settings, self.engine)
        if self.embedded_worker:
            self._worker = dramatiq.Worker(self.broker, worker_threads=1, worker_timeout=100)
            self._worker.start()
        await self.limits.start()
        self.relay.start(self.bus.publish)

    async def stop(self) -> None:
        """The relay, the prices and the checkpoint writer stopped, the projections drained,
        then the broker, the Redis clients and the database engines let go."""
        await self.relay.stop()
        await self.limits.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        if self._worker is not None:
            await asyncio.to_thread(self.broker.join, "projections", timeout=10_000)
            self._worker.stop()
            self._worker = None
        self.broker.close()
        if self.revocations is not None:
            await self.revocations.stop()
        if self.sessions is not None:
            await self.sessions.close()
        await self.engine.dispose()
        self.sync_engine.dispose()


def compose(settings: Settings) -> Accounting:
    """The accounting process's parts, from the serving process's settings; no I/O."""
    redactor = redactor_for(settings)
    engine = create_engine(settings.database.url, pool_size=settings.database.pool_size)
    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    broker, _, actors, embedded, enqueue = projections_for(settings, sync_engine, codec)
    relay = outbox_relay(
        settings,
        engine,
        codec,
        redactor,
        None,  # nothing reads this process's metrics
        enqueue=enqueue if (embedded or settings.redis.url) else None,
        enqueue_alerts=alert_enqueue(settings, actors)
        if (embedded or settings.redis.url)
        else None,
    )
    limits = limits_cache(settings, engine)
    sessions = revocations = None
    if settings.redis.url:
        sessions = RedisSessionStore(settings.redis.url, settings.redis.namespace)
        revocations = KeyRevocationChannel(
            settings.redis.url, settings.redis.namespace, forget=_ignore, forget_all=_ignore
        )
    # as the serving process's bus: a wave's subscribers and its dispatched mark share one
    # transaction, and the two commands it is sent run all or nothing
    bus = MessageBus(
        registry_for(
            limits=limits,
            scrub=body_scrubber_for(settings, redactor),
            authenticator=None,
            sessions=sessions,
            broadcast=revocations,
        ),
        SqlTransactions(engine, codec, relay.project, relay.projected),
        on_failed=relay.record_failures,
    )
    return Accounting(
        settings=settings,
        engine=engine,
        sync_engine=sync_engine,
        bus=bus,
        limits=limits,
        relay=relay,
        redactor=redactor,
        broker=broker,
        embedded_worker=embedded,
        revocations=revocations,
        sessions=sessions,
    )
