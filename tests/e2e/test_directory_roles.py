"""Who may list, read, rename and delete orgs, teams and keys, on both shapes: viewers read,
members change their own keys, owners and admins their org's teams and keys, only the admin key
deletes an org; another org's objects answer exactly like ids that do not exist (404)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant

ROLES = ("owner", "admin", "member", "viewer")


@dataclass(frozen=True)
class Org:
    tenant: Tenant
    tokens: dict[str, str]  # role: admin token
    users: dict[str, str]  # role: user id
    member_key: str  # a key issued for the member


@pytest.fixture(scope="module")
def gateway(each_shape: GatewayProcess) -> GatewayProcess:
    """The gateway of the shared `admin` fixture: each shape in turn."""
    return each_shape


def make_org(root: httpx.Client, name: str) -> Org:
    tenant = create_tenant(root, name)
    tokens: dict[str, str] = {}
    users: dict[str, str] = {}
    for role in ROLES:
        made = root.post(
            "/users", json={"org_id": tenant.org_id, "email": f"{role}@{name}.io", "role": role}
        )
        assert made.status_code == 201, made.text
        users[role] = made.json()["id"]
        tokens[role] = root.post(f"/users/{users[role]}/tokens", json={}).json()["token"]
    key = root.post(
        "/keys", json={"team_id": tenant.team_id, "name": "members", "user_id": users["member"]}
    )
    assert key.status_code == 201, key.text
    return Org(tenant, tokens, users, key.json()["id"])


@pytest.fixture(scope="module")
def orgs(root: httpx.Client) -> tuple[Org, Org]:
    return make_org(root, f"roles-a-{secrets.token_hex(2)}"), make_org(
        root, f"roles-b-{secrets.token_hex(2)}"
    )


def as_(gateway: GatewayProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def status(answer: httpx.Response, expected: int) -> dict[str, Any]:
    assert answer.status_code == expected, (
        f"{answer.request.method} {answer.request.url}: {answer.text}"
    )
    body: dict[str, Any] = answer.json()
    if expected >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json")
    return body


def test_everyone_reads_their_own_org_and_nothing_of_another(
    each_shape: GatewayProcess, orgs: tuple[Org, Org]
) -> None:
    a, b = orgs
    for role in ROLES:
        with as_(each_shape, a.tokens[role]) as client:
            listed = status(client.get("/orgs"), 200)
            assert [org["id"] for org in listed["rows"]] == [a.tenant.org_id], role
            assert status(client.get(f"/orgs/{a.tenant.org_id}"), 200)["id"] == a.tenant.org_id
            teams = status(client.get("/teams"), 200)["rows"]
            assert [team["id"] for team in teams] == [a.tenant.team_id]
            keys = status(client.get("/keys"), 200)["rows"]
            assert {key["id"] for key in keys} == {a.tenant.key_id, a.member_key}
            assert {key["org_id"] for key in keys} == {a.tenant.org_id}
            assert status(client.get(f"/keys/{a.member_key}"), 200)["user_id"] == a.users["member"]
            assert status(client.get(f"/keys/{a.tenant.key_id}/limits"), 200)["rpm"] is None
            # another org's objects and filters: the 404 of an id that does not exist
            for template, theirs in (
                ("/orgs/{id}", b.tenant.org_id),
                ("/teams/{id}", b.tenant.team_id),
                ("/keys/{id}", b.tenant.key_id),
                ("/keys/{id}/limits", b.tenant.key_id),
                ("/keys?team_id={id}", b.tenant.team_id),
                ("/keys?org_id={id}", b.tenant.org_id),
                ("/teams?org_id={id}", b.tenant.org_id),
            ):
                foreign = status(client.get(template.format(id=theirs)), 404)
                absent = status(client.get(template.format(id=secrets.token_hex(16))), 404)
                assert foreign == absent, (role, template)
            for method, path, body in (
                ("patch", f"/orgs/{b.tenant.org_id}", {"name": "mine"}),
                ("delete", f"/orgs/{b.tenant.org_id}", None),
                ("patch", f"/teams/{b.tenant.team_id}", {"name": "mine"}),
                ("delete", f"/teams/{b.tenant.team_id}", None),
                ("patch", f"/keys/{b.tenant.key_id}", {"name": "mine"}),
            ):
                answer = client.request(method, path, json=body)
                assert status(answer, 404)["detail"].startswith("There is no such"), (role, path)
            # a user id of another org filters to nothing, as an unknown one does
            assert status(client.get(f"/keys?user_id={b.users['member']}"), 200)["rows"] == []
    with as_(each_shape, b.tokens["owner"]) as client:  # org B is as it was
        assert status(client.get(f"/orgs/{b.tenant.org_id}"), 200)["name"].startswith("roles-b")
        assert status(client.get(f"/teams/{b.tenant.team_id}"), 200)["deleted_at"] is None
        assert status(client.get(f"/keys/{b.tenant.key_id}"), 200)["active"] is True


def test_viewers_read_and_change_nothing(each_shape: GatewayProcess, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    with as_(each_shape, a.tokens["viewer"]) as client:
        for method, path, body in (
            ("patch", f"/orgs/{a.tenant.org_id}", {"name": "viewed"}),
            ("delete", f"/orgs/{a.tenant.org_id}", None),
            ("patch", f"/teams/{a.tenant.team_id}", {"metadata": {"x": 1}}),
            ("delete", f"/teams/{a.tenant.team_id}", None),
            ("patch", f"/keys/{a.tenant.key_id}", {"name": "viewed"}),
            ("patch", f"/keys/{a.member_key}", {"name": "viewed"}),
        ):
            status(client.request(method, path, json=body), 403)


def test_members_rename_their_own_keys_only(
    each_shape: GatewayProcess, root: httpx.Client, orgs: tuple[Org, Org]
) -> None:
    a, _ = orgs
    with as_(each_shape, a.tokens["member"]) as client:
        mine = status(client.patch(f"/keys/{a.member_key}", json={"name": "my laptop"}), 200)
        assert mine["name"] == "my laptop"
        status(client.patch(f"/keys/{a.tenant.key_id}", json={"name": "theirs"}), 403)
        status(client.patch(f"/teams/{a.tenant.team_id}", json={"name": "ours"}), 403)
        status(client.patch(f"/orgs/{a.tenant.org_id}", json={"name": "ours"}), 403)
        status(client.delete(f"/teams/{a.tenant.team_id}"), 403)
    rows = root.get("/audit", params={"target": f"key:{a.member_key}"}).json()["rows"]
    assert (rows[-1]["action"], rows[-1]["actor"]) == ("key.change", f"user:{a.users['member']}")


def test_owners_and_admins_manage_their_org_and_only_the_admin_key_deletes_it(
    each_shape: GatewayProcess, root: httpx.Client, orgs: tuple[Org, Org]
) -> None:
    a, _ = orgs
    for role in ("owner", "admin"):
        with as_(each_shape, a.tokens[role]) as client:
            renamed = client.patch(f"/orgs/{a.tenant.org_id}", json={"metadata": {"by": role}})
            assert status(renamed, 200)["metadata"] == {"by": role}
            made = status(
                client.post("/teams", json={"org_id": a.tenant.org_id, "name": f"{role}-team"}),
                201,
            )
            changed = client.patch(f"/teams/{made['id']}", json={"name": f"{role}-renamed"})
            assert status(changed, 200)["name"] == f"{role}-renamed"
            key = status(client.patch(f"/keys/{a.tenant.key_id}", json={"name": role}), 200)
            assert key["name"] == role
            gone = status(client.delete(f"/teams/{made['id']}"), 200)
            assert gone == {"id": made["id"], "deleted": True, "revoked_keys": []}
            status(client.delete(f"/orgs/{a.tenant.org_id}"), 403)
    actors = {
        row["actor"]
        for row in root.get(
            "/audit", params={"target": f"org:{a.tenant.org_id}", "action": "org.change"}
        ).json()["rows"]
    }
    assert actors == {f"user:{a.users['owner']}", f"user:{a.users['admin']}"}
    assert root.get("/audit/verify").json()["ok"] is True
