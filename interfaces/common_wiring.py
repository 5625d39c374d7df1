"""Pieces every composition of the gateway builds the same way: the serving process's
(`interfaces.bootstrap`) and its accounting process's (`interfaces.accounting.composition`).
The redactor, what the bus routes, the projections' broker and their hand-off, and the outbox
relay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from application.audit.registration import register as register_audit
from application.billing.registration import register as register_billing
from application.billing.subscribers import Scrub
from application.bus import Registry
from application.conversations.registration import register as register_conversations
from application.providers.commands import RecordCompletions
from application.providers.registration import register as register_providers
from application.shared.record_events import RecordEvents
from application.shared.registration import register as register_shared
from application.teams.registration import Broadcast
from application.teams.registration import register as register_teams
from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetThresholdCrossed,
    RequestRefused,
    UsageRecorded,
)
from domains.providers.events import (
    CompletionFinished,
    DeploymentCircuitClosed,
    DeploymentCircuitOpened,
    DeploymentErrorRateHigh,
)
from domains.teams.events import AccessRefused, SignedOut, SignInFailed
from infrastructure.security.redaction import Redactor

if TYPE_CHECKING:
    import dramatiq
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from application.billing.limits_cache import LimitsCache
    from application.teams.authenticate import KeyAuthenticator
    from application.teams.dashboard_sessions import (
        SessionStore,  # the rest is imported by the composition that builds it
    )
    from infrastructure.alerts.deliveries import AlertDeliveries
    from infrastructure.alerts.sweep import AlertSweep
    from infrastructure.db.event_codec import EventCodec
    from infrastructure.db.retention import RetentionPruner
    from infrastructure.messaging.outbox_relay import OutboxRelay
    from infrastructure.observability.metrics import Metrics
    from infrastructure.projections.usage import UsageProjector
    from infrastructure.settings import Settings
    from interfaces.worker.actors import Actors

Enqueue = Callable[[list[str]], Awaitable[None]]

RECORDED_EVENTS = (
    AccessRefused,
    SignInFailed,
    SignedOut,
    RequestRefused,
    BudgetAboveCapRefused,
    BudgetThresholdCrossed,
    DeploymentCircuitOpened,
    DeploymentCircuitClosed,
    DeploymentErrorRateHigh,
)
"""What `RecordEvents` carries: refusals, thresholds crossed, circuits opened and closed,
error rates above their share,
sign-outs (audit rows, and the alerts' deliveries planned by the workers)."""


def registry_for(
    *,
    limits: LimitsCache,
    scrub: Scrub | None = None,
    authenticator: KeyAuthenticator | None,
    sessions: SessionStore | None,
    broadcast: Broadcast | None,
) -> Registry:
    """Every context's handlers and subscribers, and the two commands that run whole (the bus
    checks, when it is built, that their events reach only subscribers that write rows).
    `authenticator`: the key cache to evict, in a process that authenticates callers."""
    registry = Registry()
    register_teams(registry, authenticator=authenticator, sessions=sessions, broadcast=broadcast)
    register_billing(registry, limits=limits, scrub=scrub)
    register_providers(registry)
    register_conversations(registry)
    register_audit(registry)
    register_shared(registry)
    registry.run_whole(RecordCompletions, carrying=(CompletionFinished, UsageRecorded))
    registry.run_whole(RecordEvents, carrying=RECORDED_EVENTS)
    return registry


def body_scrubber_for(settings: Settings, redactor: Redactor) -> Scrub:
    """What scrubs a call's kept bodies: the redactor's secrets, then personal data."""
    from infrastructure.security.body_scrubbing import BodyScrubber

    config = settings.request_log
    scrubber = BodyScrubber(
        redactor,
        [(pattern.name, pattern.regex) for pattern in config.pii_patterns],
        built_in=config.builtin_pii_patterns,
    )
    return scrubber.bodies


def redactor_for(settings: Settings) -> Redactor:
    """Scrubs the configured secrets (admin key, provider keys, the alert webhooks' secrets and
    URLs, a Slack URL being a credential) and anything shaped like a key."""
    hooks = settings.alerts.webhooks
    return Redactor(
        [
            settings.admin.key,
            *(p.api_key for p in settings.providers),
            *(hook.secret for hook in hooks),
            *(hook.url for hook in hooks),
        ]
    )


def projections_for(
    settings: Settings, sync_engine: Engine, codec: EventCodec
) -> tuple[dramatiq.Broker, UsageProjector, Actors, bool, Enqueue]:
    """The projections' broker (Redis, else in process), the projector, its actors (and the
    alerts' when webhooks are configured), whether this process runs them itself (embedded: no
    Redis), and how events are handed to them."""
    from infrastructure.messaging.broker import create_broker
    from infrastructure.projections.analytics_fold import AnalyticsFolder
    from infrastructure.projections.analytics_summaries import Summarizer
    from infrastructure.projections.budget_forecasts import BudgetForecasts
    from infrastructure.projections.usage import UsageProjector
    from interfaces.worker.actors import AnalyticsJobs, declare_actors

    broker = create_broker(settings.redis.url, namespace=settings.redis.namespace)
    projector = UsageProjector(sync_engine, codec)
    analytics = AnalyticsJobs(
        AnalyticsFolder(sync_engine),
        Summarizer(sync_engine),
        BudgetForecasts(sync_engine, codec),
    )
    alerts = alert_deliveries(settings, sync_engine, codec)
    actors = declare_actors(
        broker, projector, analytics, alerts, retention_pruner_for(settings, sync_engine)
    )
    embedded = settings.redis.url is None and settings.workers.embedded
    return broker, projector, actors, embedded, _sender(settings, actors.project_events)


def alert_enqueue(settings: Settings, actors: Actors) -> Enqueue | None:
    """How alert events are handed to the actor that plans their deliveries (None: no
    webhook is configured)."""
    if actors.plan_alerts is None:
        return None
    return _sender(settings, actors.plan_alerts)


def alert_sweep(
    settings: Settings, sync_engine: Engine, codec: EventCodec, actors: Actors
) -> AlertSweep | None:
    """Hands the overdue deliveries to the workers again (None: no webhook is configured)."""
    deliver = actors.deliver_alert
    deliveries = alert_deliveries(settings, sync_engine, codec)
    if deliver is None or deliveries is None:
        return None
    from infrastructure.alerts.sweep import AlertSweep

    async def resend(delivery_id: str, attempt: int) -> None:
        if settings.redis.url:
            await asyncio.to_thread(deliver.send, delivery_id, attempt)
        else:
            deliver.send(delivery_id, attempt)

    return AlertSweep(deliveries, resend)


def _sender(settings: Settings, actor: Any) -> Enqueue:
    async def enqueue(payloads: list[str]) -> None:
        if settings.redis.url:
            await asyncio.to_thread(actor.send, payloads)
        else:
            actor.send(payloads)

    return enqueue


def alert_deliveries(
    settings: Settings, sync_engine: Engine, codec: EventCodec
) -> AlertDeliveries | None:
    """The alerts' delivery log and sender, when a webhook is configured."""
    if not settings.alerts.webhooks:
        return None
    from infrastructure.alerts.deliveries import AlertDeliveries
    from infrastructure.alerts.sender import WebhookSender
    from infrastructure.net.outbound import OutboundPolicy

    sender = WebhookSender(
        OutboundPolicy(settings.outbound.allow), timeout=settings.alerts.timeout_seconds
    )
    return AlertDeliveries(sync_engine, codec, settings.alerts, sender)


def retention_pruner_for(settings: Settings, sync_engine: Engine) -> RetentionPruner:
    """The retention of the request log's tables (`request_log.*retention_days`)."""
    from infrastructure.db.retention import Retained, RetentionPruner

    config = settings.request_log
    return RetentionPruner(
        sync_engine,
        [
            Retained("request_log", config.retention_days),
            Retained("request_tags", config.retention_days),
            Retained("request_bodies", config.bodies_retention_days),
        ],
        batch=config.prune_batch,
    )


def outbox_relay(
    settings: Settings,
    engine: AsyncEngine,
    codec: EventCodec,
    redactor: Redactor,
    metrics: Metrics | None,
    *,
    enqueue: Enqueue | None,
    enqueue_alerts: Enqueue | None = None,
) -> OutboxRelay:
    """The outbox relay with the configured retries, its dead letters and (with `metrics`)
    their metrics; `enqueue_alerts`: where the alert events go (when webhooks are
    configured)."""
    from infrastructure.alerts.payloads import ALERT_TYPES
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
        alerts=None if enqueue_alerts is None else (ALERT_TYPES, enqueue_alerts),
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
