"""Active health probes (`routing.health_probes`), through the running gateway on both shapes,
against fake OpenAI upstreams: with no caller at all, a deployment whose upstream goes down is
found by the probes and its circuit opens, so the first caller's request goes to the other
deployment; once the upstream is back, a probe closes the circuit long before its cooldown. The
probes show in `GET /admin/v1/providers/health` and `/metrics`, and are no usage rows.
(Replicas sharing their probes through Redis: tests/integration/test_health_probes_shared.py.)"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.faults import Faults
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

INTERVAL = 0.5  # seconds between two probes of a target
COOLDOWN = 60.0  # far longer than the tests: only a probe closes a circuit here
PRICE = {"input_per_mtok": 1, "output_per_mtok": 2}


@pytest.fixture(scope="module")
def flaky() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(faults=Faults()) as fake:
        yield fake


@pytest.fixture(scope="module")
def steady() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def probes_config(
    database_url: str, redis_url: str | None, flaky: str, steady: str
) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "redis": {"url": redis_url},
        "logging": {"level": "info", "format": "json"},
        "routing": {
            "retries": 1,
            "backoff_base_seconds": 0.01,
            "backoff_max_seconds": 0.05,
            "circuit_breaker": {
                "consecutive_failures": 2,
                "cooldown_seconds": COOLDOWN,
                "min_requests": 1000,
            },
            "health_probes": {
                "enabled": True,
                "interval_seconds": INTERVAL,
                "timeout_seconds": 0.4,
                "models": {"steady-b/checked": "completion"},
            },
        },
        "providers": [
            {
                "name": "flaky-a",
                "kind": "openai",
                "base_url": flaky,
                "api_key": "sk-probes-flaky",
                # chosen first almost always while it is up
                "models": [
                    {"name": "duo", "upstream": "gpt-4o-mini", "price": PRICE, "weight": 1000}
                ],
            },
            {
                "name": "steady-b",
                "kind": "openai",
                "base_url": steady,
                "api_key": "sk-probes-steady",
                "models": [
                    {"name": "duo", "upstream": "gpt-4o-mini", "price": PRICE},
                    {"name": "checked", "upstream": "gpt-4o", "price": PRICE},
                ],
            },
        ],
    }


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    flaky: FakeOpenAI,
    steady: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    for fake in (flaky, steady):
        fake.clear()
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-probes-{request.param}"),
        functools.partial(probes_config, flaky=flaky.base_url, steady=steady.base_url),
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tenant(gateway: GatewayProcess) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"probes-{secrets.token_hex(3)}")


def health(gateway: GatewayProcess) -> dict[str, dict[str, Any]]:
    with gateway.admin() as admin:
        answer = admin.get("/providers/health")
    assert answer.status_code == 200, answer.text
    return {f"{row['provider']}/{row['model']}": row for row in answer.json()}


def ask(gateway: GatewayProcess, tenant: Tenant, model: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi there"}]},
        headers={"Authorization": f"Bearer {tenant.key}"},
        timeout=30,
    )


def chats(fake: FakeOpenAI) -> list[Any]:
    return [request for request in fake.requests if request.path.endswith("/chat/completions")]


def model_lists(fake: FakeOpenAI) -> int:
    return sum(1 for request in fake.requests if request.path.endswith("/models"))


def test_every_deployment_is_probed_and_the_probes_show_but_bill_nobody(
    gateway: GatewayProcess, tenant: Tenant, flaky: FakeOpenAI, steady: FakeOpenAI
) -> None:
    def probed() -> dict[str, dict[str, Any]] | None:
        rows = health(gateway)
        return rows if all(row["last_probe"] for row in rows.values()) else None

    rows = eventually(probed, timeout=10)
    for row in rows.values():
        assert row["last_probe"]["ok"] is True
        assert row["last_probe"]["error"] is None
        assert row["last_probe"]["at"].endswith("Z")
        assert row["probes_ok"] >= 1
        assert row["circuit"] == "closed"
        assert row["successes"] == row["failures"] == 0  # a probe is no call of a caller
    # the model list for the deployments of `models` probes; a one-token completion for the one
    # configured so
    assert model_lists(flaky) >= 1
    assert model_lists(steady) >= 1
    completions = chats(steady)
    assert completions
    assert {request.json["model"] for request in completions} == {"gpt-4o"}
    assert all(request.json["max_tokens"] == 1 for request in completions)
    assert not chats(flaky)
    metrics = httpx.get(f"{gateway.base_url}/metrics").text
    assert 'fluxrouter_deployment_probe_up{model="duo",provider="flaky-a"} 1.0' in metrics
    assert (
        'fluxrouter_deployment_probes_total{model="checked",provider="steady-b",result="up"}'
        in (metrics)
    )
    with gateway.admin() as admin:
        usage = admin.get("/usage", params={"group_by": "model"})
    assert usage.status_code == 200, usage.text
    assert usage.json()["rows"] == []  # no caller asked anything yet: no usage row at all


def test_a_dead_deployment_is_skipped_before_a_caller_meets_it_and_back_once_healed(
    gateway: GatewayProcess, tenant: Tenant, flaky: FakeOpenAI
) -> None:
    faults = flaky.faults
    assert faults is not None
    faults.down(503)
    try:

        def opened() -> dict[str, Any] | None:
            row = health(gateway)["flaky-a/duo"]
            return row if row["circuit"] == "open" else None

        row = eventually(opened, timeout=10, every=0.1)
        assert row["last_probe"]["ok"] is False
        assert "HTTP 503" in row["last_probe"]["error"]
        assert row["failures"] == 0  # opened by the probes alone
        calls_before = len(chats(flaky))
        answers = [ask(gateway, tenant, "duo") for _ in range(5)]
        assert [answer.status_code for answer in answers] == [200] * 5
        assert {answer.headers["x-fluxrouter-provider"] for answer in answers} == {"steady-b"}
        assert all("after" not in answer.headers["x-fluxrouter-route"] for answer in answers)
        assert len(chats(flaky)) == calls_before  # no caller's request went to it
        metrics = httpx.get(f"{gateway.base_url}/metrics").text
        assert 'fluxrouter_deployment_probe_up{model="duo",provider="flaky-a"} 0.0' in metrics
    finally:
        faults.up()

    def closed() -> dict[str, Any] | None:
        row = health(gateway)["flaky-a/duo"]
        return row if row["circuit"] == "closed" else None

    # the cooldown is a minute: only a probe closes it this soon
    row = eventually(closed, timeout=10, every=0.1)
    assert row["last_probe"]["ok"] is True
    served = {ask(gateway, tenant, "duo").headers["x-fluxrouter-provider"] for _ in range(5)}
    assert "flaky-a" in served
