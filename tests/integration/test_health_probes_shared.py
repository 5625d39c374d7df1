"""Two replicas' health probers sharing their probes through a real Redis, against a fake
OpenAI upstream through the real adapter: each target is probed about once an interval between
them (a lease per target), and each replica applies every probe, whichever of them ran it."""

from __future__ import annotations

import asyncio
import secrets

import msgspec
import pytest

from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import Router
from domains.providers.model import ModelRoute
from domains.providers.routing.deployment import Deployment
from infrastructure.adapters.providers.factory import build_clients
from infrastructure.routing.health_probes import HealthProber
from infrastructure.settings.providers import ProviderSettings
from infrastructure.settings.routing_probes import HealthProbeSettings
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis

INTERVAL = 0.2
ROUTE = ModelRoute(provider="p", kind="openai", name="m", upstream="gpt-4o-mini")


async def test_two_replicas_probe_each_target_once_an_interval_and_both_apply_it() -> None:
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    settings = HealthProbeSettings(enabled=True, interval_seconds=INTERVAL, timeout_seconds=0.2)
    with FakeOpenAI() as fake:
        provider = msgspec.convert(
            {
                "name": "p",
                "kind": "openai",
                "base_url": fake.base_url,
                "api_key": "sk-probes-shared",
                "models": [{"name": "m", "upstream": "gpt-4o-mini"}],
            },
            ProviderSettings,
        )
        clients = build_clients([provider], lambda text: text)
        routers = [Router([Deployment(ROUTE)], RoutingPolicy()) for _ in range(2)]
        probers = [
            HealthProber(
                router, clients, settings, redis_url=REDIS_URL, namespace=namespace, replica=name
            )
            for router, name in zip(routers, ("one", "two"), strict=True)
        ]
        for prober in probers:
            prober.start()
        try:
            rounds = 10
            await asyncio.sleep(rounds * INTERVAL)
        finally:
            for prober in probers:
                await prober.stop()
            for client in clients.values():
                await client.close()
        listed = sum(1 for request in fake.requests if request.path.endswith("/models"))
    # alone, a replica probes `rounds` times or so; two without a lease would probe twice that
    assert 1 <= listed <= rounds + 2
    (one,), (two,) = routers[0].states(), routers[1].states()
    assert one.last_probe is not None
    assert two.last_probe is not None
    # each applied its own and the latest of the other's it read (one result a target is kept)
    assert one.probes_ok >= listed // 2
    assert two.probes_ok >= listed // 2
    assert {one.last_probe.replica, two.last_probe.replica} <= {"one", "two"}
