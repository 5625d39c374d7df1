"""Keys that expire, and rotation with a grace period for the old key."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]


def status_with(gateway: GatewayProcess, key: str) -> int:
    return httpx.get(
        f"{gateway.base_url}/v1/models", headers={"Authorization": f"Bearer {key}"}
    ).status_code


def test_a_key_stops_working_when_it_expires(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "expiring")
        soon = datetime.now(UTC) + timedelta(seconds=2)
        made = admin.post(
            "/keys",
            json={"team_id": tenant.team_id, "name": "short-lived", "expires_at": soon.isoformat()},
        )
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert status_with(gateway, key) == 200
        eventually(lambda: status_with(gateway, key) == 401, timeout=5, every=0.1)
        assert datetime.now(UTC) >= soon - timedelta(milliseconds=50)

        past = admin.post(
            "/keys",
            json={
                "team_id": tenant.team_id,
                "name": "already-gone",
                "expires_at": "2020-01-01T00:00:00Z",
            },
        )
        assert past.status_code == 400
        naive = admin.post(
            "/keys",
            json={
                "team_id": tenant.team_id,
                "name": "no-zone",
                "expires_at": "2030-01-01T00:00:00",
            },
        )
        assert naive.status_code == 400


def test_rotation_gives_a_new_key_and_the_old_one_a_grace_period(
    gateway: GatewayProcess,
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "rotating")
        assert status_with(gateway, tenant.key) == 200  # cached as valid
        rotated = admin.post(f"/keys/{tenant.key_id}/rotate", json={"grace_seconds": 2})
        assert rotated.status_code == 201, rotated.text
        answer = rotated.json()
        assert answer["previous_key_id"] == tenant.key_id
        assert answer["key"].startswith("fr-")
        assert answer["team_id"] == tenant.team_id
        started = time.monotonic()
        assert status_with(gateway, answer["key"]) == 200
        assert status_with(gateway, tenant.key) == 200  # still inside the grace period
        eventually(lambda: status_with(gateway, tenant.key) == 401, timeout=5, every=0.1)
        assert time.monotonic() - started >= 1.5
        assert status_with(gateway, answer["key"]) == 200

        again = admin.post(f"/keys/{tenant.key_id}/rotate", json={})
        assert again.status_code == 409  # an expired key is not rotated again
        unknown = admin.post("/keys/nope/rotate", json={})
        assert unknown.status_code == 404
        actions = [
            row["action"]
            for row in admin.get("/audit", params={"action": "key.rotate", "limit": 1000}).json()[
                "rows"
            ]
        ]
        assert "key.rotate" in actions
