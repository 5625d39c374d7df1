"""What SCIM provisioning does to access: a deactivated or deleted person's keys are refused by
every replica within a second, reactivation brings the same keys back, and an org's SCIM token
reaches that org only."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, ScimOrg, scim_client, scim_org

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def status_with(process: GatewayProcess, key: str) -> int:
    return httpx.get(
        f"{process.base_url}/v1/models", headers={"Authorization": f"Bearer {key}"}
    ).status_code


def provision(scim: httpx.Client, user_name: str) -> str:
    made = scim.post(
        "/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name},
        headers={"Content-Type": SCIM_JSON},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def set_active(scim: httpx.Client, user_id: str, active: bool) -> None:
    answer = scim.patch(
        f"/Users/{user_id}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"active": active}}],
        },
    )
    assert answer.status_code == 200, answer.text


def key_for(gateway: GatewayProcess, org: ScimOrg, user_id: str) -> str:
    with gateway.admin() as admin:
        team = admin.post("/teams", json={"org_id": org.org_id, "name": f"t-{user_id[-6:]}"})
        assert team.status_code == 201, team.text
        key = admin.post(
            "/keys", json={"team_id": team.json()["id"], "name": "laptop", "user_id": user_id}
        )
        assert key.status_code == 201, key.text
    return str(key.json()["key"])


def refused_within(process: GatewayProcess, key: str, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if status_with(process, key) == 401:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def test_deactivation_refuses_keys_on_every_replica_and_reactivation_restores_them(
    gateway: GatewayProcess, every_replica: list[GatewayProcess]
) -> None:
    others = every_replica[1:]
    org = scim_org(gateway, "access")
    with scim_client(gateway, org.token) as scim:
        user_id = provision(scim, "dana@example.com")
        key = key_for(gateway, org, user_id)
        for process in every_replica:  # cached as valid on each
            assert status_with(process, key) == 200

        set_active(scim, user_id, False)
        assert status_with(gateway, key) == 401  # the next request, where it was deactivated
        for replica in others:
            after = refused_within(replica, key, 5)
            assert after is not None, "the other replica kept accepting the key"
            assert after < 1.0

        set_active(scim, user_id, True)
        assert status_with(gateway, key) == 200  # the same key again
        deadline = time.monotonic() + 1.0
        for replica in others:
            while status_with(replica, key) != 200:
                assert time.monotonic() < deadline, "the replica kept refusing the reactivated key"
                time.sleep(0.02)

        assert scim.delete(f"/Users/{user_id}").status_code == 204
        assert status_with(gateway, key) == 401
        for replica in others:
            after = refused_within(replica, key, 5)
            assert after is not None, "the other replica kept accepting the key"
            assert after < 1.0


def test_a_token_reaches_its_own_org_only(gateway: GatewayProcess) -> None:
    org_a, org_b = scim_org(gateway, "iso-a"), scim_org(gateway, "iso-b")
    with scim_client(gateway, org_a.token) as scim_a, scim_client(gateway, org_b.token) as scim_b:
        user_id = provision(scim_a, "erin@example.com")
        group = scim_a.post("/Groups", json={"displayName": "Ops", "members": [{"value": user_id}]})
        assert group.status_code == 201, group.text
        group_id = group.json()["id"]
        patch = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": "x"}],
        }
        for method, path, body in (
            ("GET", f"/Users/{user_id}", None),
            ("PUT", f"/Users/{user_id}", {"userName": "erin@example.com"}),
            ("PATCH", f"/Users/{user_id}", patch),
            ("DELETE", f"/Users/{user_id}", None),
            ("GET", f"/Groups/{group_id}", None),
            (
                "PATCH",
                f"/Groups/{group_id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]},
            ),
            ("DELETE", f"/Groups/{group_id}", None),
        ):
            answer = scim_b.request(method, path, json=body)
            assert answer.status_code == 404, f"{method} {path}: {answer.text}"
            assert answer.json()["status"] == "404"
        assert scim_b.get("/Users").json()["totalResults"] == 0
        assert scim_b.get("/Groups").json()["totalResults"] == 0
        foreign = scim_b.post(
            "/Groups", json={"displayName": "Ops", "members": [{"value": user_id}]}
        )
        assert foreign.status_code == 400, foreign.text  # org A's person is no one in org B
        assert scim_a.get(f"/Users/{user_id}").status_code == 200

        with gateway.admin() as admin:
            revoked = admin.delete(f"/orgs/{org_a.org_id}/scim-tokens/{org_a.token_id}")
            assert revoked.status_code == 200, revoked.text
            again = admin.delete(f"/orgs/{org_b.org_id}/scim-tokens/{org_a.token_id}")
            assert again.status_code == 404  # another org's token is no token of this org
        refused = scim_a.get("/Users")
        assert refused.status_code == 401
        assert refused.json()["status"] == "401"
        assert httpx.get(f"{gateway.base_url}/scim/v2/Users").status_code == 401
        listed = gateway.admin().get(f"/orgs/{org_a.org_id}/scim-tokens").json()
        assert listed[0]["revoked_at"] is not None
        assert org_a.token not in str(listed)
