"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.gateway import GatewayProcess
from tests.support.images import image_server


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
    second = GatewayProcess(
        workdir, config, admin_key=gateway.admin_key, upstream_key=gateway.env["TEST_UPSTREAM_KEY"]
    )
    second.env["FLUXROUTER_REDIS_NAMESPACE"] = gateway.env["FLUXROUTER_REDIS_NAMESPACE"]
    second.start()
    yield second
    second.stop()


@pytest.fixture
def every_replica(gateway: GatewayProcess, request: pytest.FixtureRequest) -> list[GatewayProcess]:
    """Every process serving `gateway`'s database: on PostgreSQL + Redis the gateway and a
    replica sharing them; the embedded SQLite shape is the one process."""
    if gateway.shape == "sqlite":
        return [gateway]
    other: GatewayProcess = request.getfixturevalue("replica")
    return [gateway, other]
