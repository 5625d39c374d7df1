"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import SHAPE_FIXTURES, UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.images import image_server
from tests.support.oidc_peer import OidcPeer
from tests.support.tenants import Tenant, create_tenant

BROWSER_ORIGIN = "https://app.example.com"  # the origin `open_gateway` lets browsers call from


@pytest.fixture(scope="session")
def image_url() -> Iterator[str]:
    """A PNG served over HTTP on loopback."""
    with image_server() as url:
        yield url


@pytest.fixture(scope="session")
def replica(
    pg_gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A second `fluxrouter serve` with the production gateway's configuration and environment,
    as replicas behind a load balancer share PostgreSQL and Redis."""
    gateway = pg_gateway
    workdir: Path = tmp_path_factory.mktemp("gateway-replica")
    config = yaml.safe_load(Path(gateway.env["FLUXROUTER_CONFIG"]).read_text())
    # every replica signs audit checkpoints with the same key file (docs/audit.md): relative, it
    # would be a key of the replica's own directory, whose checkpoints the first would refuse
    audit = config.setdefault("audit", {})
    audit["signing_key_file"] = str(gateway.workdir / "fluxrouter-audit-signing.key")
    second = GatewayProcess(
        workdir, config, admin_key=gateway.admin_key, upstream_key=gateway.env["TEST_UPSTREAM_KEY"]
    )
    second.env["FLUXROUTER_REDIS_NAMESPACE"] = gateway.env["FLUXROUTER_REDIS_NAMESPACE"]
    second.start()
    yield second
    second.stop()


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def open_gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """The gateway in both shapes (the embedded SQLite default; PostgreSQL, Redis and a worker)
    with prompts logged (`logging.log_prompts`) and browsers allowed from `BROWSER_ORIGIN`
    (`server.cors_origins`)."""

    def make_config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        config = gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )
        config["logging"]["log_prompts"] = True
        config["server"] = {"cors_origins": [BROWSER_ORIGIN]}
        return config

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-open-{request.param}"),
        make_config,
        database_url=request.getfixturevalue("pg_url") if request.param != "sqlite" else None,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


@pytest.fixture
def every_replica(gateway: GatewayProcess, request: pytest.FixtureRequest) -> list[GatewayProcess]:
    """Every process serving `gateway`'s database: on PostgreSQL + Redis the gateway and a
    replica sharing them; the embedded SQLite shape is the one process."""
    if gateway.shape == "sqlite":
        return [gateway]
    other: GatewayProcess = request.getfixturevalue("replica")
    return [gateway, other]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ],
)
def each_shape(request: pytest.FixtureRequest) -> GatewayProcess:
    """The module's tests on both shapes: the session's embedded gateway (SQLite, no Redis) and
    its production one (PostgreSQL + Redis and a worker)."""
    process: GatewayProcess = request.getfixturevalue(SHAPE_FIXTURES[request.param])
    return process


@pytest.fixture(scope="module")
def admin(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    """The admin API of the module's `gateway`, called with the gateway's admin key (a module on
    each shape in turn names `gateway` the `each_shape` it runs on)."""
    with gateway.admin() as client:
        yield client


@pytest.fixture(scope="module")
def root(admin: httpx.Client) -> httpx.Client:
    """`admin` under the name the modules that also sign in an org's own admins give it: the
    gateway's admin key, above every org."""
    return admin


@pytest.fixture(scope="module")
def tenant(admin: httpx.Client, request: pytest.FixtureRequest) -> Tenant:
    """An org, a team and a key of the module's own, named after the module."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return create_tenant(admin, f"{module.replace('_', '-')}-{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def peer(
    gateway: GatewayProcess,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OidcPeer]:
    """An OpenID provider on loopback that signs in the module's `ACCOUNTS` (name → claims) and
    sends them back to the gateway's OIDC callback."""
    accounts: dict[str, dict[str, Any]] = request.module.ACCOUNTS
    started = OidcPeer(
        redirect_uris=[f"{gateway.base_url}/auth/oidc/callback"], accounts=accounts
    ).start(tmp_path_factory.mktemp("oidc-peer"))
    yield started
    started.stop()


SLOW_MODULES = frozenset(
    {
        "test_audit_chain_binding",  # an embedded then a production gateway in one directory
        "test_audit_checkpoints",  # a gateway of its own signing checkpoints as rows come
        "test_audit_concurrency",  # two processes changing the directory at once
        "test_audit_tampering",  # a gateway per tampering, each verified three ways
        "test_budget_cold_burst",  # bursts of 50 and 200 first requests, per shape
        "test_budget_caps_output",  # 50 concurrent streams and 50 WebSocket generations, per shape
        "test_connection_limits",  # 20,000 half-open connections, header and body timeouts
        "test_database_busy",  # a write held past SQLite's busy timeout, in each API's shape
        "test_forecast_alerts",  # rollups folded and forecast by the periodic jobs, per shape
        "test_openapi_fuzz",  # schemathesis over every operation of the OpenAPI document
        "test_org_budget_caps",  # spending to the cap, per shape
        "test_people_churn",  # 50 people deactivated, reactivated and deleted under chat load
        "test_refusal_floods",  # 10,000 refused keys, per shape
        "test_responses_stored_on_stop",  # SIGTERM right after the last answers, per shape
        "test_scim_hostile_input",  # hypothesis through the real SCIM routes, per shape
        "test_spool_durability",  # PostgreSQL cut off, then SIGTERM and kill -9 under load
    }
)
"""The end-to-end suites `make test-all` runs and `make test` (CI) leaves out: each takes a minute
or more of load or waiting, and together they would take `make test` past 20 minutes on 2 cores."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if item.module is not None else ""
        if module.startswith("tests.e2e.") and module.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
