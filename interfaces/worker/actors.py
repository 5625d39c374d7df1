"""Dramatiq actors: thin, idempotent, taking JSON. The logic lives in the projections, the
alerts' delivery log and the retention pruner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import structlog

from infrastructure.alerts.deliveries import AlertDeliveries
from infrastructure.db.retention import RetentionPruner
from infrastructure.messaging.broker import ALERTS_QUEUE, MAINTENANCE_QUEUE, PROJECTIONS_QUEUE
from infrastructure.projections.analytics_fold import AnalyticsFolder
from infrastructure.projections.analytics_summaries import Summarizer
from infrastructure.projections.budget_forecasts import BudgetForecasts
from infrastructure.projections.usage import UsageProjector

log = structlog.get_logger("fluxrouter.retention")
alerts_log = structlog.get_logger("fluxrouter.alerts")

RECONCILED_HOURS = 3
"""How many hours up to the fold's watermark the summaries job checks for records written
late, and folds again."""


@dataclass(frozen=True)
class Actors:
    project_events: Any  # dramatiq.Actor[[list[str]], None]
    fold_analytics: Any  # dramatiq.Actor[[float], None]: the settle delay in seconds
    summarize_analytics: Any  # dramatiq.Actor[[], None]
    plan_alerts: Any | None = None  # dramatiq.Actor[[list[str]], None], with webhooks only
    deliver_alert: Any | None = None  # dramatiq.Actor[[str, int], None], with webhooks only
    prune_retention: Any = None  # dramatiq.Actor[[], None]; None: nothing to prune


@dataclass(frozen=True)
class AnalyticsJobs:
    folder: AnalyticsFolder
    summarizer: Summarizer
    forecasts: BudgetForecasts | None = None
    """The budget forecast check, run after the summaries (None: not checked)."""


def declare_actors(
    broker: dramatiq.Broker,
    projector: UsageProjector,
    analytics: AnalyticsJobs,
    alerts: AlertDeliveries | None = None,
    pruner: RetentionPruner | None = None,
) -> Actors:
    def project_events(payloads: list[str]) -> None:
        projector.apply_payloads(payloads)

    def fold_analytics(settle_seconds: float) -> None:
        analytics.folder.fold(datetime.now(UTC) - timedelta(seconds=settle_seconds))

    def summarize_analytics() -> None:
        analytics.folder.reconcile(hours=RECONCILED_HOURS)
        now = datetime.now(UTC)
        analytics.summarizer.run(now)
        if analytics.forecasts is not None:
            raised = analytics.forecasts.run(now)
            if raised:
                alerts_log.info(
                    "budget.forecast_exceeded",
                    budgets=[f"{e.scope}:{e.scope_id}:{e.window}" for e in raised],
                )

    def declare(fn: Any, queue: str = PROJECTIONS_QUEUE, max_retries: int = 20) -> Any:
        return dramatiq.actor(
            broker=broker,
            actor_name=fn.__name__,
            queue_name=queue,
            max_retries=max_retries,
            min_backoff=200,
            max_backoff=30_000,
        )(fn)

    plan: Any = None
    deliver: Any = None
    if alerts is not None:
        planner = alerts  # bound for the closures

        def deliver_alert(delivery_id: str, attempt: int) -> None:
            """One try; the next is sent delayed when it failed and may be retried (the delivery
            log keeps the count, so Dramatiq's own retries are off)."""
            delay = planner.attempt(delivery_id, attempt)
            if delay is not None:
                deliver.send_with_options(args=(delivery_id, attempt + 1), delay=int(delay * 1000))

        def plan_alerts(payloads: list[str]) -> None:
            for delivery_id in planner.plan(payloads):
                deliver.send(delivery_id, 1)

        deliver = declare(deliver_alert, ALERTS_QUEUE, max_retries=0)
        plan = declare(plan_alerts, ALERTS_QUEUE)
    prune: Any = None
    if pruner is not None:
        pruning = pruner  # bound for the closure

        def prune_retention() -> None:
            """The periodic retention job: partitions made ahead, what is past retention
            removed (`infrastructure.db.retention`). Idempotent: two runs at once remove it
            once."""
            pruned = pruning.run()
            if any(pruned.rows.values()) or any(pruned.partitions.values()):
                log.info("retention.pruned", rows=pruned.rows, partitions=pruned.partitions)

        prune = dramatiq.actor(
            broker=broker,
            actor_name="prune_retention",
            queue_name=MAINTENANCE_QUEUE,
            max_retries=0,  # the next period runs it again
            time_limit=3_600_000,
        )(prune_retention)
    return Actors(
        project_events=declare(project_events),
        fold_analytics=declare(fold_analytics),
        summarize_analytics=declare(summarize_analytics),
        plan_alerts=plan,
        deliver_alert=deliver,
        prune_retention=prune,
    )
