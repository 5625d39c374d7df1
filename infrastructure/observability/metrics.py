"""Prometheus metrics, in a registry of the app's own (tests run several apps in one process).

The collectors read at each scrape (deployments, connections) are in `collectors`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from infrastructure.observability.collectors import (
    ConnectionCounts,
    ConnectionsCollector,
    DeploymentRow,
    DeploymentsCollector,
)

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)


def _count_of(counts: Callable[[], Any], field: str) -> float:
    return float(getattr(counts(), field))


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fluxrouter_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fluxrouter_http_request_duration_seconds",
            "Time to the response's first byte.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "fluxrouter_upstream_errors",
            "Errors from upstream providers.",
            ["provider", "status"],
            registry=self.registry,
        )
        self.credentials_refused = Counter(
            "fluxrouter_upstream_credentials_refused",
            "Upstream calls on which the provider refused the gateway's own credentials "
            "(the operator's to fix).",
            ["provider"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "fluxrouter_tokens",
            "Tokens used, as the upstreams reported them.",
            ["provider", "model", "direction"],
            registry=self.registry,
        )
        self.ws_connections = Gauge(
            "fluxrouter_ws_connections",
            "Open WebSocket chat connections, authenticated.",
            registry=self.registry,
        )
        self.ws_generations = Counter(
            "fluxrouter_ws_generations",
            "Generations started on WebSocket chat connections.",
            registry=self.registry,
        )
        self.outbox_retries = Counter(
            "fluxrouter_outbox_retries",
            "Undelivered events the outbox relay published again.",
            registry=self.registry,
        )
        self.outbox_dead_lettered = Counter(
            "fluxrouter_outbox_dead_lettered",
            "Events the outbox relay gave up on after its retries (dead letters), by event type.",
            ["event_type"],
            registry=self.registry,
        )
        self._token_counters: dict[tuple[str, str], tuple[Any, Any]] = {}

    def count_tokens(
        self, provider: str, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        """One finished call's tokens; each model's two counters are looked up once (`labels()`
        locks and validates, several times the cost of the increment)."""
        counters = self._token_counters.get((provider, model))
        if counters is None:
            counters = (
                self.tokens.labels(provider, model, "input"),
                self.tokens.labels(provider, model, "output"),
            )
            self._token_counters[(provider, model)] = counters
        counters[0].inc(input_tokens)
        counters[1].inc(output_tokens)

    def count_credentials_refused(self, provider: str) -> None:
        self.credentials_refused.labels(provider).inc()

    def watch_refusal_throttle(self, throttled: Callable[[], float]) -> None:
        Gauge(
            "fluxrouter_refusals_throttled",
            "Requests answered 429 since start because their address had too many credentials "
            "refused (no lookup, no audit row of their own).",
            registry=self.registry,
        ).set_function(throttled)

    def watch_accounting(
        self,
        backlog: Callable[[], float],
        dropped: Callable[[], float],
        held_back: Callable[[], float],
    ) -> None:
        Gauge(
            "fluxrouter_accounting_backlog",
            "Finished calls not yet written (usage, audit).",
            registry=self.registry,
        ).set_function(backlog)
        Gauge(
            "fluxrouter_accounting_dropped",
            "Finished calls dropped because the backlog was full.",
            registry=self.registry,
        ).set_function(dropped)
        Gauge(
            "fluxrouter_accounting_held_back",
            "Requests that waited for the backlog of finished calls to come down.",
            registry=self.registry,
        ).set_function(held_back)

    def watch_spool(self, counts: Callable[[], Any], open_calls: Callable[[], float]) -> None:
        """The spool's counters (`infrastructure.spool.spool.SpoolCounts`), read when scraped."""
        for name, field, text in (
            ("records_started", "started", "Calls journaled as started."),
            ("records_finished", "finished", "Finished calls journaled."),
            ("records_released", "released", "Admitted calls journaled as given back unused."),
            ("write_failures", "write_failures", "Records the disk refused (full, read-only)."),
            ("fsyncs", "fsyncs", "Times the spool was made durable."),
            ("replayed", "replayed", "Finished calls replayed from files dead processes left."),
            ("reconciled", "reconciled", "Started calls those files never finished, charged."),
            ("skipped_lines", "skipped", "Lines of those files cut short or corrupt, skipped."),
        ):
            Gauge(
                f"fluxrouter_spool_{name}",
                text,
                registry=self.registry,
            ).set_function(functools.partial(_count_of, counts, field))
        Gauge(
            "fluxrouter_spool_open_calls",
            "Calls journaled as started and not ended yet.",
            registry=self.registry,
        ).set_function(open_calls)

    def watch_dead_letters(self, pending: Callable[[], float]) -> None:
        Gauge(
            "fluxrouter_outbox_dead_letters_pending",
            "Dead letters not replayed (as of the outbox relay's last sweep).",
            registry=self.registry,
        ).set_function(pending)

    def watch_connections(self, counts: ConnectionCounts) -> None:
        """The client connections of this process: open, refused by a cap, closed by a read
        timeout."""
        self.registry.register(ConnectionsCollector(counts))

    def watch_deployments(self, health: Callable[[], Iterable[DeploymentRow]]) -> None:
        """Each deployment's circuit and load (`application.providers.routing`), read when
        scraped."""
        self.registry.register(DeploymentsCollector(health))

    def render(self) -> bytes:
        return generate_latest(self.registry)
