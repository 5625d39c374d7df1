"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
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


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ],
)
def each_shape(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The module's tests on both shapes: the embedded default (SQLite, no Redis; a gateway of
    the module's own) and the production shape (the session's PostgreSQL + Redis gateway)."""
    if request.param == "postgres":
        yield request.getfixturevalue("gateway")
        return
    workdir = tmp_path_factory.mktemp("gateway-sqlite-shape")
    config = gateway_config(
        database_url=f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}",
        redis_url=None,
        upstream_url=upstream.base_url,
        upstream_key=UPSTREAM_KEY,
    )
    process = GatewayProcess(
        workdir, config, admin_key="fradm-" + secrets.token_urlsafe(32), upstream_key=UPSTREAM_KEY
    )
    process.start()
    yield process
    process.stop()
