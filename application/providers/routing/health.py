"""The deployments as this replica sees them now, for `GET /admin/v1/providers/health` and
`/metrics`: each one's circuit, load, latency and last health probe, read from the router."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from application.providers.routing.router import Router
from domains.providers.routing.breaker import CircuitState
from domains.providers.routing.probe import ProbeOutcome


class LastProbe(msgspec.Struct, frozen=True):
    """The last active health probe of a deployment (`routing.health_probes`)."""

    at: datetime
    """When it ended (UTC)."""
    ok: bool
    seconds: float
    error: str | None
    """Why it failed: `timeout`, or the upstream failure's condition and HTTP status."""


def last_probe(outcome: ProbeOutcome | None) -> LastProbe | None:
    if outcome is None:
        return None
    return LastProbe(
        at=datetime.fromtimestamp(outcome.at, UTC),
        ok=outcome.ok,
        seconds=outcome.seconds,
        error=outcome.detail or None,
    )


class DeploymentHealth(msgspec.Struct, frozen=True):
    """A deployment of a model (one provider's entry of it) as this replica sees it now: the
    answer of `GET /admin/v1/providers/health` as it is, and what `/metrics` reads."""

    provider: str
    model: str
    upstream: str
    region: str | None
    tags: tuple[str, ...]
    weight: float
    rpm: int | None
    tpm: int | None
    circuit: str
    """closed | open | half_open"""
    open_for_seconds: float
    consecutive_failures: int
    times_opened: int
    in_flight: int
    requests_last_minute: int
    tokens_last_minute: int
    latency_ms: float
    ttfb_ms: float
    successes: int
    failures: int
    last_probe: LastProbe | None = None
    """None: no health probe of it ran yet (or probes are off)."""
    probes_ok: int = 0
    probes_failed: int = 0


def health_of(router: Router) -> list[DeploymentHealth]:
    now = router.clock()
    rows = []
    for state in router.states():
        deployment, breaker = state.deployment, state.breaker
        circuit = breaker.current(now)
        requests, tokens = state.window.used(now)
        rows.append(
            DeploymentHealth(
                provider=deployment.route.provider,
                model=deployment.route.name,
                upstream=deployment.route.upstream,
                region=deployment.region,
                tags=deployment.tags,
                weight=deployment.weight,
                rpm=deployment.rpm,
                tpm=deployment.tpm,
                circuit=circuit.value,
                open_for_seconds=round(max(0.0, breaker.open_until - now), 3)
                if circuit is CircuitState.OPEN
                else 0.0,
                consecutive_failures=breaker.consecutive,
                times_opened=breaker.opened,
                in_flight=state.in_flight,
                requests_last_minute=requests + state.window.elsewhere_requests,
                tokens_last_minute=tokens + state.window.elsewhere_tokens,
                latency_ms=round(state.latency * 1000, 3),
                ttfb_ms=round(state.ttfb * 1000, 3),
                successes=state.successes,
                failures=state.failures,
                last_probe=last_probe(state.last_probe),
                probes_ok=state.probes_ok,
                probes_failed=state.probes_failed,
            )
        )
    return rows
