"""What a health probe does to a deployment's circuit: failed probes open it, a successful one
closes an open or half-open circuit, and a success on a closed one forgets no failure."""

from __future__ import annotations

from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy, CircuitState
from domains.providers.routing.deployment import Deployment, DeploymentState
from domains.providers.routing.probe import ProbeOutcome, apply_probe

ROUTE = ModelRoute(provider="p", kind="openai", name="m", upstream="m")
UP = ProbeOutcome(at=1.0, ok=True, seconds=0.01)
DOWN = ProbeOutcome(at=1.0, ok=False, seconds=0.5, detail="timeout")


def state() -> DeploymentState:
    return DeploymentState(Deployment(ROUTE), BreakerPolicy(consecutive_failures=2, cooldown=30))


def test_failed_probes_open_the_circuit_and_a_successful_one_closes_it() -> None:
    deployment = state()
    apply_probe(deployment, DOWN, 10.0)
    assert deployment.breaker.current(10.0) is CircuitState.CLOSED
    apply_probe(deployment, DOWN, 11.0)
    assert deployment.breaker.current(11.0) is CircuitState.OPEN
    assert deployment.last_probe == DOWN
    apply_probe(deployment, UP, 12.0)  # long before the cooldown's end
    assert deployment.breaker.current(12.0) is CircuitState.CLOSED
    assert (deployment.probes_ok, deployment.probes_failed) == (1, 2)
    assert (deployment.successes, deployment.failures) == (0, 0)  # no caller's calls


def test_a_failed_probe_of_a_half_open_circuit_opens_it_again() -> None:
    deployment = state()
    for now in (1.0, 2.0):
        apply_probe(deployment, DOWN, now)
    assert deployment.breaker.current(40.0) is CircuitState.HALF_OPEN
    apply_probe(deployment, DOWN, 40.0)
    assert deployment.breaker.current(40.0) is CircuitState.OPEN


def test_a_successful_probe_of_a_closed_circuit_forgets_no_failure() -> None:
    deployment = state()
    deployment.failed(1.0, counts=True)  # a caller's call failed
    apply_probe(deployment, UP, 2.0)
    deployment.failed(3.0, counts=True)  # the second in a row: open
    assert deployment.breaker.current(3.0) is CircuitState.OPEN
