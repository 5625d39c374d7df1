"""Two gateway processes sharing PostgreSQL and Redis, as replicas behind a load balancer."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_a_revoked_key_is_refused_by_every_replica_within_a_second(
    gateway: GatewayProcess, replica: GatewayProcess
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "replicated")
    auth = {"Authorization": f"Bearer {tenant.key}"}
    for process in (gateway, replica):  # both replicas now hold the key in their caches
        assert httpx.get(f"{process.base_url}/v1/models", headers=auth).status_code == 200

    with gateway.admin() as admin:
        assert admin.delete(f"/keys/{tenant.key_id}").status_code == 200
    revoked_at = time.monotonic()
    refused_after = None
    while time.monotonic() - revoked_at < 5:
        if httpx.get(f"{replica.base_url}/v1/models", headers=auth).status_code == 401:
            refused_after = time.monotonic() - revoked_at
            break
        time.sleep(0.02)
    assert refused_after is not None, "the other replica kept accepting the revoked key"
    assert refused_after < 1.0
    assert httpx.get(f"{gateway.base_url}/v1/models", headers=auth).status_code == 401
