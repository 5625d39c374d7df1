"""The composition root: the one place that builds and wires everything, from settings.

`bootstrap()` does no I/O; it reads top to bottom as what the gateway is made of. The parts it
builds come from the wiring modules beside it (`*_wiring.py`); what it returns, a `Container`,
starts and stops the background parts (`interfaces.container`).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.limits_cache import LimitsCache
from application.billing.unwritten_spend import unwritten_spend
from application.bus import MessageBus
from application.conversations.retention import ResponseSweep
from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.upstream import ProviderCalls
from application.providers.latency import EwmaLatency, TimedRecorder
from application.providers.recorder import CompletionRecorder
from application.providers.routing.circuit_watch import CircuitWatch
from application.providers.routing.health import health_of
from application.providers.routing.router import Router
from application.shared.coalescer import Coalescer
from application.teams.authenticate import KeyAuthenticator
from domains.billing.budget import Amount, Budget
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from infrastructure.adapters.providers.factory import build_catalog, build_clients
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.repositories.teams import SqlKeyLookup
from infrastructure.db.wave import SqlTransactions
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.observability.metrics import Metrics
from infrastructure.routing.health_probes import HealthProber
from infrastructure.routing.shared_state import SharedRoutingState
from infrastructure.settings import Settings
from infrastructure.settings.routing_policies import build_policies
from infrastructure.spool.spool import FileSpool
from infrastructure.sso.session_callers import SessionCallers
from interfaces.accounting_wiring import build_accounting_process, build_recorder
from interfaces.billing_wiring import Admission, build_admission, limits_cache
from interfaces.cache_wiring import build_response_cache
from interfaces.common_wiring import (
    alert_enqueue,
    alert_sweep,
    body_scrubber_for,
    outbox_relay,
    projections_for,
    redactor_for,
    registry_for,
)
from interfaces.container import Container
from interfaces.deployments_wiring import build_router
from interfaces.refusals_wiring import build_access_refusals, refusal_writer
from interfaces.routing_wiring import build_virtual_models
from interfaces.sso_wiring import build_sso
from interfaces.worker.actors import Actors
from interfaces.worker.retention_schedule import RetentionSchedule

__all__ = ["Container", "bootstrap"]


def bootstrap(
    settings: Settings, *, accounting_process: bool = False, spool: bool = False
) -> Container:
    """`accounting_process`: the recorder's batches are written by a child process
    (`interfaces.accounting`), as `serve` runs; else in this process. `spool`: the calls served
    are journaled in `accounting.spool_dir` first, as `serve` does."""
    redactor = redactor_for(settings)
    engine = create_engine(settings.database.url, pool_size=settings.database.pool_size)
    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    metrics = Metrics()

    broker, projector, actors, embedded, enqueue = projections_for(settings, sync_engine, codec)
    relay = outbox_relay(
        settings,
        engine,
        codec,
        redactor,
        metrics,
        enqueue=enqueue if (embedded or settings.redis.url) else None,
        enqueue_alerts=alert_enqueue(settings, actors)
        if (embedded or settings.redis.url)
        else None,
    )
    key_lookup = SqlKeyLookup(engine)
    authenticator = KeyAuthenticator(key_lookup)
    limits = limits_cache(settings, engine)
    sso = build_sso(settings, engine)
    revocations = _revocations(settings, authenticator)
    registry = registry_for(
        limits=limits,
        scrub=body_scrubber_for(settings, redactor),
        authenticator=authenticator,
        sessions=None if sso.sessions_in_database else sso.sessions.store,
        broadcast=revocations,
    )
    accounting = build_accounting_process(registry) if accounting_process else None
    bus = MessageBus(
        registry,
        # a wave's subscribers and its dispatched mark share one transaction
        SqlTransactions(engine, codec, relay.project, relay.projected),
        on_failed=relay.record_failures,
    )

    recorder, journal = build_recorder(settings, metrics, accounting, bus, relay, spool=spool)
    catalog = build_catalog(settings.providers)
    clients = build_clients(
        settings.providers, redactor, metrics.count_credentials_refused, settings.outbound
    )

    write_refusals = refusal_writer(bus)
    refusals = Coalescer(write_refusals)
    access_refusals, refusal_throttle = build_access_refusals(settings, metrics, write_refusals)

    admission, call_admission = _admissions(
        settings, engine, limits, bus, refusals, recorder, journal
    )
    router = build_router(settings)
    metrics.watch_deployments(functools.partial(health_of, router))
    completions = _completions(settings, catalog, clients, call_admission, recorder, router, limits)
    return Container(
        settings=settings,
        engine=engine,
        sync_engine=sync_engine,
        codec=codec,
        bus=bus,
        catalog=catalog,
        clients=clients,
        completions=completions,
        authenticator=authenticator,
        recorder=recorder,
        relay=relay,
        metrics=metrics,
        redactor=redactor,
        broker=broker,
        actors=actors,
        projector=projector,
        embedded_worker=embedded,
        limits=admission,
        refusals=refusals,
        access_refusals=access_refusals,
        refusal_throttle=refusal_throttle,
        revocations=revocations,
        sessions=SessionCallers(sso.sessions, key_lookup),
        sso=sso,
        accounting=accounting,
        spool=journal,
        response_sweep=ResponseSweep(bus, every_seconds=settings.responses.sweep_every_seconds),
        retention_schedule=_retention_schedule(settings, actors),
        routing_share=_routing_share(settings, router),
        circuit_watch=CircuitWatch(
            router,
            write_refusals,
            error_share=settings.alerts.error_rate_share,
            min_calls=settings.alerts.error_rate_min_calls,
        ),
        alert_sweep=(
            alert_sweep(settings, sync_engine, codec, actors)
            if (embedded or settings.redis.url)
            else None
        ),
        health_probes=_health_probes(settings, router, clients),
    )


def _revocations(
    settings: Settings, authenticator: KeyAuthenticator
) -> KeyRevocationChannel | None:
    """With Redis: the channel that tells every replica's authenticator a key, a user or all
    keys changed (none without: one process forgets on its own)."""
    if not settings.redis.url:
        return None
    return KeyRevocationChannel(
        settings.redis.url,
        settings.redis.namespace,
        forget=authenticator.forget_key,
        forget_all=authenticator.forget_all,
        forget_user=authenticator.forget_user,
    )


def _admissions(
    settings: Settings,
    engine: AsyncEngine,
    limits: LimitsCache,
    bus: MessageBus,
    refusals: Coalescer,
    recorder: CompletionRecorder,
    journal: FileSpool | None,
) -> tuple[Admission, CallAdmission]:
    """Billing's admission (budgets and rate limits, counting what the recorder has not written
    yet), and the pipeline's step that asks it before each call."""

    def unwritten(budget: Budget, now: datetime) -> Amount:
        return unwritten_spend(recorder.waiting(), budget, now, limits)

    admission = build_admission(settings, engine, limits, bus, refusals, unwritten)
    call_admission = CallAdmission(
        recorder.room,
        admission=admission.admission,
        counter=admission.counter,
        default_max_output_tokens=settings.billing.default_max_output_tokens,
        journal=journal,
    )
    return admission, call_admission


def _completions(
    settings: Settings,
    catalog: Catalog,
    clients: dict[str, ProviderClient],
    call_admission: CallAdmission,
    recorder: CompletionRecorder,
    router: Router,
    limits: LimitsCache,
) -> CompletionPipeline:
    """The completion pipeline over the providers' clients, with the routing policies, the
    virtual models (fed the latency of every finished call) and the response cache."""
    latency = EwmaLatency()  # fed by every finished call, read by the virtual models
    virtual = build_virtual_models(settings, catalog, latency, limits=limits)
    return CompletionPipeline(
        catalog,
        call_admission,
        ProviderCalls(clients),
        TimedRecorder(recorder, latency) if virtual is not None else recorder,
        log_prompts=settings.logging.log_prompts,
        router=router,
        policies=build_policies(settings.routing.policies),
        virtual=virtual,
        cache=build_response_cache(settings),
    )


def _routing_share(settings: Settings, router: Router) -> SharedRoutingState | None:
    """With Redis: the deployments' health shared between replicas."""
    if not settings.redis.url:
        return None
    return SharedRoutingState(
        router, settings.redis.url, settings.redis.namespace, settings.routing.shared_state_seconds
    )


def _health_probes(
    settings: Settings, router: Router, clients: dict[str, ProviderClient]
) -> HealthProber | None:
    """The deployments' health probes, when they are on."""
    if not settings.routing.health_probes.enabled:
        return None
    return HealthProber(
        router,
        clients,
        settings.routing.health_probes,
        redis_url=settings.redis.url,
        namespace=settings.redis.namespace,
    )


def _retention_schedule(settings: Settings, actors: Actors) -> RetentionSchedule | None:
    """Sends the retention job its message every `request_log.prune_every_seconds`."""
    prune = actors.prune_retention
    if prune is None:
        return None

    async def send() -> None:
        if settings.redis.url:
            await asyncio.to_thread(prune.send)
        else:
            prune.send()

    return RetentionSchedule(send, every_seconds=settings.request_log.prune_every_seconds)
