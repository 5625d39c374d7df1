"""Dramatiq actors: thin, idempotent, taking JSON. The logic lives in the projections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq

from infrastructure.messaging.broker import PROJECTIONS_QUEUE
from infrastructure.projections.analytics_fold import AnalyticsFolder
from infrastructure.projections.analytics_summaries import Summarizer
from infrastructure.projections.usage import UsageProjector

RECONCILED_HOURS = 3
"""How many hours up to the fold's watermark the summaries job checks for records written
late, and folds again."""


@dataclass(frozen=True)
class Actors:
    project_events: Any  # dramatiq.Actor[[list[str]], None]
    fold_analytics: Any  # dramatiq.Actor[[float], None]: the settle delay in seconds
    summarize_analytics: Any  # dramatiq.Actor[[], None]


@dataclass(frozen=True)
class AnalyticsJobs:
    folder: AnalyticsFolder
    summarizer: Summarizer


def declare_actors(
    broker: dramatiq.Broker, projector: UsageProjector, analytics: AnalyticsJobs
) -> Actors:
    def project_events(payloads: list[str]) -> None:
        projector.apply_payloads(payloads)

    def fold_analytics(settle_seconds: float) -> None:
        analytics.folder.fold(datetime.now(UTC) - timedelta(seconds=settle_seconds))

    def summarize_analytics() -> None:
        analytics.folder.reconcile(hours=RECONCILED_HOURS)
        analytics.summarizer.run(datetime.now(UTC))

    def declare(fn: Any) -> Any:
        return dramatiq.actor(
            broker=broker,
            actor_name=fn.__name__,
            queue_name=PROJECTIONS_QUEUE,
            max_retries=20,
            min_backoff=200,
            max_backoff=30_000,
        )(fn)

    return Actors(
        project_events=declare(project_events),
        fold_analytics=declare(fold_analytics),
        summarize_analytics=declare(summarize_analytics),
    )
