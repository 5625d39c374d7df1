"""The Dramatiq broker, chosen by settings: Redis when configured, else an in-process stub."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

PROJECTIONS_QUEUE = "projections"
ALERTS_QUEUE = "alerts"
MAINTENANCE_QUEUE = "maintenance"
"""Periodic jobs (the retention pruner): apart, so a long one never holds the projections."""


def create_broker(redis_url: str | None, *, namespace: str = "fluxrouter") -> dramatiq.Broker:
    if redis_url:
        from dramatiq.brokers.redis import RedisBroker  # only where Redis is configured

        return RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker
