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
    gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A second `fluxrouter serve` with the first one's configuration and environment, as
    replicas behind a load balancer share PostgreSQL and Redis."""
    workdir: Path = tmp_path_factory.mktemp("gateway-replica")
    config = yaml.safe_load(Path(gateway.env["FLUXROUTER_CONFIG"]).read_text())
    second = GatewayProcess(
        workdir, config, admin_key=gateway.admin_key, upstream_key=gateway.env["TEST_UPSTREAM_KEY"]
    )
    second.env["FLUXROUTER_REDIS_NAMESPACE"] = gateway.env["FLUXROUTER_REDIS_NAMESPACE"]
    second.start()
    yield second
    second.stop()
