"""The collectors a scrape reads on demand: the deployments' circuits, calls and probes (from the
router's health rows), and the connection limits' counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


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


class DeploymentsCollector:
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


class ConnectionsCollector:
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
