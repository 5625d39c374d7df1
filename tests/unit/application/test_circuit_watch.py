"""The circuits' transitions become events once each, and only on the replica that made them."""

from __future__ import annotations

from collections.abc import Sequence

from application.providers.routing.circuit_watch import CircuitWatch
from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import Router
from domains.providers.events import (
    DeploymentCircuitClosed,
    DeploymentCircuitOpened,
    DeploymentErrorRateHigh,
)
from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy
from domains.providers.routing.deployment import Deployment
from domains.shared.events import Event

A = ModelRoute(provider="a", kind="openai", name="m", upstream="m-a")
B = ModelRoute(provider="b", kind="openai", name="m", upstream="m-b")


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _router(clock: Clock) -> Router:
    policy = RoutingPolicy(
        breaker=BreakerPolicy(consecutive_failures=2, min_requests=1000, cooldown=10.0)
    )
    return Router([Deployment(A), Deployment(B)], policy, clock=clock)


async def _nothing(_events: Sequence[Event]) -> None:
    return None


def test_an_opening_and_a_closing_are_raised_once_each() -> None:
    clock = Clock()
    router = _router(clock)
    watch = CircuitWatch(router, _nothing)
    state = router.state("a/m")
    assert state is not None
    state.breaker.failed(clock.now)
    assert watch.changes() == []
    state.breaker.failed(clock.now)
    (opened,) = watch.changes()
    assert isinstance(opened, DeploymentCircuitOpened)
    assert (opened.deployment, opened.provider, opened.model) == ("a/m", "a", "m-a")
    assert (opened.reason, opened.consecutive_failures, opened.failures) == (
        "consecutive_failures",
        2,
        2,
    )
    assert opened.cooldown_seconds == 10.0
    assert watch.changes() == []  # raised once
    clock.now += 11  # half-open: the probe succeeds
    assert state.breaker.allows(clock.now)
    state.breaker.succeeded(clock.now)
    (closed,) = watch.changes()
    assert isinstance(closed, DeploymentCircuitClosed)
    assert closed.deployment == "a/m"
    assert watch.changes() == []


def test_a_failed_probe_opens_it_again_with_its_reason() -> None:
    clock = Clock()
    router = _router(clock)
    watch = CircuitWatch(router, _nothing)
    breaker = router.state("b/m").breaker  # type: ignore[union-attr]
    breaker.failed(clock.now)
    breaker.failed(clock.now)
    clock.now += 11
    breaker.started(clock.now)
    breaker.failed(clock.now)
    events = watch.changes()
    assert [type(event) for event in events] == [DeploymentCircuitOpened] * 2
    assert events[-1].reason == "probe_failed"  # type: ignore[attr-defined]


def test_a_circuit_another_replica_opened_raises_nothing_here() -> None:
    clock = Clock()
    router = _router(clock)
    watch = CircuitWatch(router, _nothing)
    breaker = router.state("a/m").breaker  # type: ignore[union-attr]
    breaker.open_until_at_least(clock.now + 10)  # the shared state says so
    assert not breaker.allows(clock.now)
    assert watch.changes() == []


def test_an_error_rate_over_its_share_is_raised_once_until_it_comes_down() -> None:
    clock = Clock()
    router = _router(clock)
    watch = CircuitWatch(router, _nothing, error_share=0.2, min_calls=8)
    breaker = router.state("a/m").breaker  # type: ignore[union-attr]
    for _ in range(5):
        breaker.succeeded(clock.now)
    breaker.failed(clock.now)
    breaker.succeeded(clock.now)
    assert watch.changes() == []  # 1 of 7: too few calls, too low a share
    breaker.failed(clock.now)
    breaker.succeeded(clock.now)
    (high,) = watch.changes()  # 2 of 9, then...
    assert isinstance(high, DeploymentErrorRateHigh)
    assert (high.deployment, high.calls, high.failures, high.share) == ("a/m", 9, 2, 0.2)
    for _ in range(3):
        breaker.failed(clock.now)
        breaker.succeeded(clock.now)
    assert watch.changes() == []  # still high: raised once
    for _ in range(60):
        breaker.succeeded(clock.now)
    assert watch.changes() == []  # 5 of 75: under half the share, rearmed
    for _ in range(20):
        breaker.failed(clock.now)
        breaker.succeeded(clock.now)
    events = watch.changes()
    assert [type(event) for event in events] == [DeploymentErrorRateHigh]


def test_no_error_rate_is_watched_without_a_share() -> None:
    clock = Clock()
    router = _router(clock)
    watch = CircuitWatch(router, _nothing)
    breaker = router.state("a/m").breaker  # type: ignore[union-attr]
    for _ in range(50):
        breaker.failed(clock.now)
        breaker.succeeded(clock.now)
    assert all(not isinstance(event, DeploymentErrorRateHigh) for event in watch.changes())
