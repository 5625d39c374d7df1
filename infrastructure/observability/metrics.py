"""Prometheus metrics, in a registry of the app's own (tests run several apps in one process)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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
        self.registry.register(_ConnectionsCollector(counts))

    def watch_deployments(self, health: Callable[[], Iterable[DeploymentRow]]) -> None:
        """Each deployment's circuit and load (`application.providers.routing`), read when
        scraped."""
        self.registry.register(_DeploymentsCollector(health))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DeploymentRow(Protocol):
    """What the deployments collector reads of each deployment."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def circuit(self) -> str: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def times_opened(self) -> int: ...
    @property
    def successes(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def requests_last_minute(self) -> int: ...
    @property
    def last_probe(self) -> ProbeRow | None: ...
    @property
    def probes_ok(self) -> int: ...
    @property
    def probes_failed(self) -> int: ...


class ProbeRow(Protocol):
    """What the deployments collector reads of a deployment's last health probe."""

    @property
    def at(self) -> datetime: ...
    @property
    def ok(self) -> bool: ...
    @property
    def seconds(self) -> float: ...


CIRCUIT_STATES = ("closed", "half_open", "open")


class _DeploymentsCollector:
    def __init__(self, health: Callable[[], Iterable[DeploymentRow]]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        rows = list(self._health())
        circuit = GaugeMetricFamily(
            "fluxrouter_deployment_circuit",
            "A deployment's circuit breaker: 1 for its state (closed, half_open, open), else 0.",
            labels=["provider", "model", "state"],
        )
        in_flight = GaugeMetricFamily(
            "fluxrouter_deployment_in_flight",
            "Calls in flight to a deployment (this process).",
            labels=["provider", "model"],
        )
        last_minute = GaugeMetricFamily(
            "fluxrouter_deployment_requests_last_minute",
            "Calls to a deployment in the last minute, counted against its rpm.",
            labels=["provider", "model"],
        )
        opened = CounterMetricFamily(
            "fluxrouter_deployment_circuit_opened",
            "Times a deployment's circuit opened (this process).",
            labels=["provider", "model"],
        )
        attempts = CounterMetricFamily(
            "fluxrouter_deployment_attempts",
            "Calls to a deployment, by outcome (this process).",
            labels=["provider", "model", "outcome"],
        )
        probe_up = GaugeMetricFamily(
            "fluxrouter_deployment_probe_up",
            "Whether a deployment's last active health probe found it up (1) or not (0); "
            "only deployments probed so far (routing.health_probes).",
            labels=["provider", "model"],
        )
        probe_at = GaugeMetricFamily(
            "fluxrouter_deployment_probe_last_timestamp_seconds",
            "When a deployment's last active health probe ended (seconds since the epoch).",
            labels=["provider", "model"],
        )
        probe_seconds = GaugeMetricFamily(
            "fluxrouter_deployment_probe_duration_seconds",
            "How long a deployment's last active health probe took.",
            labels=["provider", "model"],
        )
        probes = CounterMetricFamily(
            "fluxrouter_deployment_probes",
            "Active health probe results applied to a deployment's circuit, by result "
            "(this process; the probes of other replicas included when they share Redis).",
            labels=["provider", "model", "result"],
        )
        for row in rows:
            probe = row.last_probe
            if probe is not None:
                probe_up.add_metric([row.provider, row.model], 1 if probe.ok else 0)
                probe_at.add_metric([row.provider, row.model], probe.at.timestamp())
                probe_seconds.add_metric([row.provider, row.model], probe.seconds)
                probes.add_metric([row.provider, row.model, "up"], row.probes_ok)
                probes.add_metric([row.provider, row.model, "down"], row.probes_failed)
            for state in CIRCUIT_STATES:
                circuit.add_metric(
                    [row.provider, row.model, state], 1 if row.circuit == state else 0
                )
            in_flight.add_metric([row.provider, row.model], row.in_flight)
            last_minute.add_metric([row.provider, row.model], row.requests_last_minute)
            opened.add_metric([row.provider, row.model], row.times_opened)
            attempts.add_metric([row.provider, row.model, "success"], row.successes)
            attempts.add_metric([row.provider, row.model, "failure"], row.failures)
        yield circuit
        yield in_flight
        yield last_minute
        yield opened
        yield attempts
        yield probe_up
        yield probe_at
        yield probe_seconds
        yield probes


class ConnectionCounts(Protocol):
    """What the connection limits of a process count (interfaces/http/connection_limits.py)."""

    open: int
    refused_busy: int
    refused_per_address: int
    header_timeouts: int
    body_timeouts: int


class _ConnectionsCollector:
    def __init__(self, counts: ConnectionCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts
        yield GaugeMetricFamily(
            "fluxrouter_connections_open", "Open client connections.", value=counts.open
        )
        refused = CounterMetricFamily(
            "fluxrouter_connections_refused",
            "Client connections refused as they opened: `per_ip` (server.max_connections_per_ip) "
            "or `server_full` (server.max_connections).",
            labels=["reason"],
        )
        refused.add_metric(["per_ip"], counts.refused_per_address)
        refused.add_metric(["server_full"], counts.refused_busy)
        yield refused
        timed_out = CounterMetricFamily(
            "fluxrouter_connections_timed_out",
            "Client connections closed because a request's `headers` or `body` did not arrive "
            "in time (server.header_timeout, server.body_timeout).",
            labels=["phase"],
        )
        timed_out.add_metric(["headers"], counts.header_timeouts)
        timed_out.add_metric(["body"], counts.body_timeouts)
        yield timed_out
