"""Deactivating or deleting a person answers at once on both shapes, and leaves no write behind
it waiting: the end of the person's dashboard sessions is part of the deactivation's own
transaction (on SQLite a second writer would wait on it), so no subscriber fails and the relay
has nothing to replay."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_client, scim_org

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STALL = 5.0
"""No admin call takes this long; the deadlock made each one wait SQLite's 30 s busy timeout."""


@pytest.fixture(
    params=[
        "sqlite_gateway",
        pytest.param("pg_gateway", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def shape(request: pytest.FixtureRequest) -> GatewayProcess:
    process: GatewayProcess = request.getfixturevalue(request.param)
    return process


def prompt(call: Callable[[], httpx.Response], expected: int, what: str) -> httpx.Response:
    started = time.monotonic()
    answer = call()
    took = time.monotonic() - started
    assert answer.status_code == expected, f"{what}: {answer.status_code} {answer.text}"
    assert took < STALL, f"{what} took {took:.1f} s"
    return answer


def test_deactivating_and_deleting_people_answers_at_once_and_stalls_nothing(
    shape: GatewayProcess,
) -> None:
    org = scim_org(shape, "deactivate")
    timeout = httpx.Timeout(STALL * 2)
    with shape.admin() as admin, scim_client(shape, org.token) as scim:
        admin.timeout = scim.timeout = timeout
        member = prompt(
            lambda: admin.post(
                "/users",
                json={"org_id": org.org_id, "email": "member@example.com", "role": "member"},
            ),
            201,
            "adding a person",
        ).json()
        prompt(
            lambda: admin.patch(f"/users/{member['id']}", json={"active": False}),
            200,
            "PATCH /admin/v1/users/{id} active:false",
        )
        prompt(
            lambda: admin.patch(f"/users/{member['id']}", json={"active": True}),
            200,
            "PATCH /admin/v1/users/{id} active:true",
        )

        made = prompt(
            lambda: scim.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"scim-{secrets.token_hex(3)}@example.com",
                },
                headers={"Content-Type": SCIM_JSON},
            ),
            201,
            "SCIM provisioning",
        )
        scim_id = made.json()["id"]
        for active in (False, True, False):
            operation = {"op": "replace", "value": {"active": active}}
            change = {"schemas": [PATCH_OP], "Operations": [operation]}
            patching = functools.partial(scim.patch, f"/Users/{scim_id}", json=change)
            prompt(patching, 200, f"SCIM PATCH active:{active}")
        prompt(lambda: scim.delete(f"/Users/{scim_id}"), 204, "SCIM DELETE")

        for n in range(5):  # the writes after it are not held up either
            later = functools.partial(admin.post, "/orgs", json={"name": f"after-{n}"})
            prompt(later, 201, "a later write")
        assert admin.get("/audit/verify").json()["ok"] is True
    assert "bus.subscriber_failed" not in shape.logs()
