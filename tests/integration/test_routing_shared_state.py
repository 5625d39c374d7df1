"""Two replicas' routers sharing their deployments' state through a real Redis: a circuit one
opens is open at the other, and each counts the other's calls against a deployment's rpm."""

from __future__ import annotations

import secrets

import pytest

from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import Router
from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy, CircuitState
from domains.providers.routing.deployment import Deployment
from infrastructure.routing.shared_state import SharedRoutingState
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis

ROUTE = ModelRoute(provider="p", kind="openai", name="m", upstream="m")
POLICY = RoutingPolicy(breaker=BreakerPolicy(consecutive_failures=2, cooldown=30.0))


def router() -> Router:
    return Router([Deployment(ROUTE, rpm=5)], POLICY)


async def test_replicas_see_each_others_open_circuits_and_rate_windows() -> None:
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    first, second = router(), router()
    shares = [
        SharedRoutingState(first, REDIS_URL, namespace, 0.05, replica="one"),
        SharedRoutingState(second, REDIS_URL, namespace, 0.05, replica="two"),
    ]
    for share in shares:
        share.start()
    try:
        (one,), (two,) = first.states(), second.states()
        now = first.clock()
        for _ in range(3):
            one.started(now)
            one.failed(now, counts=True)
            one.ended(now, 0)
        assert one.breaker.current(now) is CircuitState.OPEN
        await shares[0].sync()
        await shares[1].sync()
        later = second.clock()
        assert two.breaker.current(later) is CircuitState.OPEN
        assert 25 < two.breaker.open_until - later <= 30
        assert two.window.elsewhere_requests == 3
        assert two.window.has_room(later)  # 3 of 5
        for _ in range(2):
            two.started(later)
        assert not two.window.has_room(later)  # 5 of 5, counting the other replica's
        assert not two.available(later)
    finally:
        for share in shares:
            await share.stop()
