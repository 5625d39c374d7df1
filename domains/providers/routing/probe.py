"""What an active health probe of a deployment found, and what it does to the deployment's
circuit: a failed probe counts as a failure (enough in a row open the circuit, and a failed
probe of a half-open circuit opens it again); a successful probe closes an open or half-open
circuit, so a deployment back up is back in rotation without waiting for a caller. A success on
a closed circuit changes nothing: it does not wipe out the failures callers saw."""

from __future__ import annotations

from dataclasses import dataclass

from domains.providers.routing.breaker import CircuitState
from domains.providers.routing.deployment import DeploymentState


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    at: float
    """When the probe ended (wall clock, seconds since the epoch: replicas share it)."""
    ok: bool
    seconds: float
    """How long it took."""
    detail: str = ""
    """Why it failed (the condition the gateway read, never the upstream's own words)."""
    replica: str = ""
    """Which replica probed."""


def apply_probe(state: DeploymentState, outcome: ProbeOutcome, now: float) -> None:
    """`outcome` into the deployment's circuit (`now`: the router's monotonic clock)."""
    state.last_probe = outcome
    breaker = state.breaker
    if outcome.ok:
        state.probes_ok += 1
        if breaker.current(now) is not CircuitState.CLOSED:
            breaker.succeeded(now)
    else:
        state.probes_failed += 1
        breaker.failed(now)
