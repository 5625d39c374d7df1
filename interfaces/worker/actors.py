"""Dramatiq actors: thin, idempotent, taking JSON. The logic lives in the projections and the
alerts' delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq

from infrastructure.alerts.deliveries import AlertDeliveries
from infrastructure.messaging.broker import ALERTS_QUEUE, PROJECTIONS_QUEUE
from infrastructure.projections.usage import UsageProjector


@dataclass(frozen=True)
class Actors:
    project_events: Any  # dramatiq.Actor[[list[str]], None]
    plan_alerts: Any | None = None  # dramatiq.Actor[[list[str]], None], with webhooks only
    deliver_alert: Any | None = None  # dramatiq.Actor[[str, int], None], with webhooks only


def declare_actors(
    broker: dramatiq.Broker, projector: UsageProjector, alerts: AlertDeliveries | None = None
) -> Actors:
    def project_events(payloads: list[str]) -> None:
        projector.apply_payloads(payloads)

    actor = dramatiq.actor(
        broker=broker,
        actor_name="project_events",
        queue_name=PROJECTIONS_QUEUE,
        max_retries=20,
        min_backoff=200,
        max_backoff=30_000,
    )(project_events)
    if alerts is None:
        return Actors(project_events=actor)
    planner = alerts  # bound for the closures

    def deliver_alert(delivery_id: str, attempt: int) -> None:
        """One try; the next is sent delayed when it failed and may be retried (the delivery
        log keeps the count, so Dramatiq's own retries are off)."""
        delay = planner.attempt(delivery_id, attempt)
        if delay is not None:
            deliver.send_with_options(args=(delivery_id, attempt + 1), delay=int(delay * 1000))

    deliver = dramatiq.actor(
        broker=broker, actor_name="deliver_alert", queue_name=ALERTS_QUEUE, max_retries=0
    )(deliver_alert)

    def plan_alerts(payloads: list[str]) -> None:
        for delivery_id in planner.plan(payloads):
            deliver.send(delivery_id, 1)

    plan = dramatiq.actor(
        broker=broker,
        actor_name="plan_alerts",
        queue_name=ALERTS_QUEUE,
        max_retries=20,
        min_backoff=200,
        max_backoff=30_000,
    )(plan_alerts)
    return Actors(project_events=actor, plan_alerts=plan, deliver_alert=deliver)
