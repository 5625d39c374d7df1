"""Dramatiq actors: thin, idempotent, taking JSON. The logic lives in the projections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq

from infrastructure.messaging.broker import PROJECTIONS_QUEUE
from infrastructure.projections.usage import UsageProjector


@dataclass(frozen=True)
class Actors:
    project_events: Any  # dramatiq.Actor[[list[str]], None]


def declare_actors(broker: dramatiq.Broker, projector: UsageProjector) -> Actors:
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
    return Actors(project_events=actor)
