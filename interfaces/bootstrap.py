"""The composition root: the one place that builds and wires everything, from settings.

`bootstrap()` does no I/O; `Container.start()` and `.stop()` run the background parts (the
completion recorder, the outbox relay and, in the embedded shape, the Dramatiq worker).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit.subscribers import when_event_append_audit
from application.billing.subscribers import when_completion_finished_record_usage
from application.bus import Handler, MessageBus, Subscriber
from application.providers.commands import RecordCompletions
from application.providers.gateway import Gateway
from application.providers.handlers import record_completions
from application.providers.recorder import CompletionRecorder
from application.teams import handlers as teams_handlers
from application.teams.authenticate import KeyAuthenticator
from application.teams.commands import CreateOrg, CreateTeam, IssueKey, RevokeKey, RotateKey
from application.teams.subscribers import when_key_revoked_forget_key
from domains.billing.model import Price, PriceBook
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from domains.shared.events import Command, Event
from domains.teams.events import KeyRevoked, KeyRotated
from infrastructure.adapters.providers.factory import build_catalog, build_clients
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.repositories.teams import SqlKeyLookup
from infrastructure.db.uow import SqlUnitOfWork
from infrastructure.messaging.broker import create_broker
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.observability.metrics import Metrics
from infrastructure.projections.usage import EVENT_TYPES as USAGE_EVENT_TYPES
from infrastructure.projections.usage import UsageProjector
from infrastructure.security.admin_key import ensure_admin_key
from infrastructure.security.redaction import Redactor
from infrastructure.settings import Settings
from interfaces.worker.actors import Actors, declare_actors


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sync_engine: Engine
    codec: EventCodec
    bus: MessageBus
    catalog: Catalog
    clients: dict[str, ProviderClient]
    gateway: Gateway
    authenticator: KeyAuthenticator
    recorder: CompletionRecorder
    relay: OutboxRelay
    metrics: Metrics
    redactor: Redactor
    broker: dramatiq.Broker
    actors: Actors
    projector: UsageProjector
    embedded_worker: bool
    revocations: KeyRevocationChannel | None = None
    admin_digest: str | None = None
    _worker: dramatiq.Worker | None = field(default=None, repr=False)

    async def start(self) -> None:
        self.admin_digest, _ = await ensure_admin_key(self.engine, self.settings.admin.key)
        if self.embedded_worker:
            self._worker = dramatiq.Worker(self.broker, worker_threads=1, worker_timeout=100)
            self._worker.start()
        self.recorder.start()
        self.relay.start(self.bus.publish)
        if self.revocations is not None:
            self.revocations.start()

    async def stop(self) -> None:
        await self.recorder.stop()
        await self.relay.stop()
        if self.revocations is not None:
            await self.revocations.stop()
        for client in self.clients.values():
            await client.close()
        if self._worker is not None:
            await asyncio.to_thread(self.broker.join, "projections", timeout=10_000)
            self._worker.stop()
            self._worker = None
        self.broker.close()
        await self.engine.dispose()
        self.sync_engine.dispose()


def price_book(settings: Settings) -> PriceBook:
    return PriceBook(
        {
            (provider.name, model.name): Price(
                input_per_mtok=model.price.input_per_mtok,
                output_per_mtok=model.price.output_per_mtok,
                cached_input_per_mtok=model.price.cached_input_per_mtok,
            )
            for provider in settings.providers
            for model in provider.models
            if model.price is not None
        }
    )


def redactor_for(settings: Settings) -> Redactor:
    """Scrubs the configured secrets (admin key, provider keys) and anything shaped like a key."""
    return Redactor([settings.admin.key, *(p.api_key for p in settings.providers)])


def bootstrap(settings: Settings) -> Container:
    redactor = redactor_for(settings)
    engine = create_engine(settings.database.url, pool_size=settings.database.pool_size)
    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    metrics = Metrics()

    broker = create_broker(settings.redis.url, namespace=settings.redis.namespace)
    projector = UsageProjector(sync_engine, codec)
    actors = declare_actors(broker, projector)
    embedded = settings.redis.url is None and settings.workers.embedded

    async def enqueue(payloads: list[str]) -> None:
        if settings.redis.url:
            await asyncio.to_thread(actors.project_events.send, payloads)
        else:
            actors.project_events.send(payloads)

    relay = OutboxRelay(
        engine,
        codec,
        enqueue=enqueue if (embedded or settings.redis.url) else None,
        projected_types=USAGE_EVENT_TYPES,
    )
    authenticator = KeyAuthenticator(SqlKeyLookup(engine))
    handlers: dict[type[Command], Handler] = {
        CreateOrg: teams_handlers.create_org,
        CreateTeam: teams_handlers.create_team,
        IssueKey: teams_handlers.issue_key,
        RevokeKey: teams_handlers.revoke_key,
        RotateKey: teams_handlers.rotate_key,
        RecordCompletions: record_completions,
    }
    subscribers: dict[type[Event], list[Subscriber]] = {
        CompletionFinished: [
            functools.partial(when_completion_finished_record_usage, prices=price_book(settings))
        ],
        KeyRevoked: [functools.partial(when_key_revoked_forget_key, authenticator=authenticator)],
        KeyRotated: [functools.partial(when_key_revoked_forget_key, authenticator=authenticator)],
        Event: [when_event_append_audit],
    }
    revocations = None
    if settings.redis.url:
        revocations = KeyRevocationChannel(
            settings.redis.url,
            settings.redis.namespace,
            forget=authenticator.forget_key,
            forget_all=authenticator.forget_all,
        )
        subscribers[KeyRevoked].append(revocations.when_key_revoked_broadcast)
        subscribers[KeyRotated].append(revocations.when_key_revoked_broadcast)
    bus = MessageBus(
        lambda: SqlUnitOfWork(engine, codec),
        handlers,
        subscribers,
        on_dispatched=relay.dispatched,
    )

    def observe(event: CompletionFinished) -> None:
        if event.status >= 400:
            metrics.upstream_errors.labels(event.provider, str(event.status)).inc()
        metrics.tokens.labels(event.provider, event.model, "input").inc(event.input_tokens)
        metrics.tokens.labels(event.provider, event.model, "output").inc(event.output_tokens)

    recorder = CompletionRecorder(bus.handle, observe=observe)
    metrics.watch_accounting(lambda: recorder.backlog, lambda: recorder.dropped)
    catalog = build_catalog(settings.providers)
    clients = build_clients(settings.providers, redactor)
    return Container(
        settings=settings,
        engine=engine,
        sync_engine=sync_engine,
        codec=codec,
        bus=bus,
        catalog=catalog,
        clients=clients,
        gateway=Gateway(catalog, clients, recorder),
        authenticator=authenticator,
        recorder=recorder,
        relay=relay,
        metrics=metrics,
        redactor=redactor,
        broker=broker,
        actors=actors,
        projector=projector,
        embedded_worker=embedded,
        revocations=revocations,
    )
