"""People's admin tokens through the real gateway: each caller sees and changes only their own
org, as far as their role allows, and another org's ids answer exactly like ids that don't exist."""

from __future__ import annotations

import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ROLES = ("owner", "admin", "member", "viewer")
ISSUED: list[str] = []  # every admin token this module saw, to look for in answers and logs


@dataclass(frozen=True)
class Person:
    id: str
    role: str
    token: str
    token_id: str


@dataclass(frozen=True)
class Org:
    tenant: Tenant
    people: dict[str, Person]

    @property
    def id(self) -> str:
        return self.tenant.org_id


def issue_token(root: httpx.Client, user_id: str) -> tuple[str, str]:
    made = root.post(f"/users/{user_id}/tokens", json={})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["token"].startswith("fra-")
    assert body["prefix"] == body["token"][:12]
    ISSUED.append(body["token"])
    return body["id"], body["token"]


def add_person(root: httpx.Client, org_id: str, role: str, name: str | None = None) -> Person:
    name = name or f"{role}-{secrets.token_hex(3)}"
    made = root.post(
        "/users",
        json={"org_id": org_id, "email": f"{name}@Example.com", "role": role, "display_name": name},
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    token_id, token = issue_token(root, user_id)
    return Person(id=user_id, role=role, token=token, token_id=token_id)


def make_org(root: httpx.Client, name: str) -> Org:
    tenant = create_tenant(root, name)
    people = {role: add_person(root, tenant.org_id, role, f"{name}-{role}") for role in ROLES}
    return Org(tenant, people)


@pytest.fixture(scope="module")
def org_a(root: httpx.Client) -> Org:
    return make_org(root, "scoping-a")


@pytest.fixture(scope="module")
def org_b(root: httpx.Client) -> Org:
    org = make_org(root, "scoping-b")
    made = root.post(
        "/keys",
        json={
            "team_id": org.tenant.team_id,
            "name": "b-member",
            "user_id": org.people["member"].id,
        },
    )
    assert made.status_code == 201, made.text
    return org


def as_(gateway: GatewayProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def call(client: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    return (
        client.request(method, path, json=body)
        if body is not None
        else client.request(method, path)
    )


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (
        f"{answer.request.method} {answer.request.url}: {answer.text}"
    )
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def random_id() -> str:
    return secrets.token_hex(16)


# The ids in the paths of the admin API, and the bodies that get a call past validation.
PATH_IDS = {
    "org_id": "org",
    "team_id": "team",
    "key_id": "key",
    "user_id": "user",
    "token_id": "token",
}
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/admin/v1/keys/{key_id}/rotate"): {},
    ("patch", "/admin/v1/users/{user_id}"): {"display_name": "probe"},
    ("post", "/admin/v1/users/{user_id}/tokens"): {},
    ("put", "/admin/v1/orgs/{org_id}/budget"): {"period": "day", "max_tokens": 1000},
    ("put", "/admin/v1/orgs/{org_id}/budget-cap"): {"period": "day", "max_tokens": 1000},
    ("put", "/admin/v1/teams/{team_id}/budget"): {"period": "day", "max_tokens": 1000},
    ("put", "/admin/v1/keys/{key_id}/budget"): {"period": "day", "max_tokens": 1000},
    ("put", "/admin/v1/users/{user_id}/budget"): {"period": "day", "max_tokens": 1000},
    ("put", "/admin/v1/keys/{key_id}/limits"): {"rpm": 10},
    ("put", "/admin/v1/teams/{team_id}/limits"): {"rpm": 10},
    ("patch", "/admin/v1/orgs/{org_id}"): {"name": "probe"},
    ("patch", "/admin/v1/teams/{team_id}"): {"name": "probe"},
    ("patch", "/admin/v1/keys/{key_id}"): {"metadata": {"probe": True}},
}


def ids_of(org: Org) -> dict[str, str]:
    return {
        "org": org.id,
        "team": org.tenant.team_id,
        "key": org.tenant.key_id,
        "user": org.people["member"].id,
        "token": org.people["member"].token_id,
    }


def id_routes(gateway: GatewayProcess) -> list[tuple[str, str, str]]:
    """(method, path template, id kind) of every admin route with an org-scoped id in its path."""
    document = httpx.get(f"{gateway.base_url}/schema/openapi.json").json()
    routes = []
    for path, operations in document["paths"].items():
        if not path.startswith("/admin/v1/"):
            continue
        kinds = [kind for param, kind in PATH_IDS.items() if "{" + param + "}" in path]
        for method in operations:
            if kinds and method in ("get", "post", "put", "patch", "delete"):
                routes.append((method, path, kinds[0]))
    return routes


def body_id_probes(a: Org) -> list[tuple[str, str, Any, str]]:
    """(method, path, body with {id}, id kind): calls naming an id in the body or the query."""
    return [
        ("post", "/teams", {"org_id": "{id}", "name": "probe"}, "org"),
        ("post", "/users", {"org_id": "{id}", "email": "probe@x.io", "role": "viewer"}, "org"),
        ("post", "/keys", {"team_id": "{id}", "name": "probe"}, "team"),
        ("post", "/keys", {"team_id": a.tenant.team_id, "name": "p", "user_id": "{id}"}, "user"),
        ("get", "/teams?org_id={id}", None, "org"),
        ("get", "/keys?org_id={id}", None, "org"),
        ("get", "/keys?team_id={id}", None, "team"),
        ("get", "/users?org_id={id}", None, "org"),
        ("get", "/usage?group_by=org&org_id={id}", None, "org"),
    ]


def fill(value: Any, id_: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", id_)
    if isinstance(value, dict):
        return {k: fill(v, id_) for k, v in value.items()}
    return value


def test_another_orgs_ids_answer_exactly_like_ids_that_do_not_exist(
    gateway: GatewayProcess, org_a: Org, org_b: Org
) -> None:
    theirs = ids_of(org_b)
    routes = id_routes(gateway)
    covered = {path for _, path, _ in routes}
    assert {
        "/admin/v1/teams/{team_id}",
        "/admin/v1/keys/{key_id}",
        "/admin/v1/keys/{key_id}/rotate",
        "/admin/v1/users/{user_id}",
        "/admin/v1/users/{user_id}/tokens",
        "/admin/v1/admin-tokens/{token_id}",
        "/admin/v1/orgs/{org_id}",
        "/admin/v1/keys/{key_id}/limits",
    } <= covered
    checked = 0
    for role in ROLES:
        with as_(gateway, org_a.people[role].token) as client:
            for method, template, kind in routes:
                body = BODIES.get((method, template))
                if body is None and method in ("post", "put", "patch"):
                    body = {}
                path = template.removeprefix("/admin/v1")
                for name in PATH_IDS:
                    path = path.replace("{" + name + "}", "{id}")
                label = f"{role}: {method.upper()} {template}"
                absent = random_id()
                foreign = call(client, method, fill(path, theirs[kind]), body)
                missing = call(client, method, fill(path, absent), body)
                assert foreign.status_code == missing.status_code, label
                # the same answer, but for the id the caller sent (a 400 names the path it got)
                assert foreign.text.replace(theirs[kind], "{id}") == missing.text.replace(
                    absent, "{id}"
                ), label
                if (method, template) in BODIES or body is None:
                    assert foreign.status_code == 404, f"{label}: {foreign.text}"
                    assert foreign.json()["detail"].startswith("There is no such"), label
                    checked += 1
            for method, path, body, kind in body_id_probes(org_a):
                label = f"{role}: {method.upper()} {path} naming another org's {kind}"
                foreign = call(client, method, fill(path, theirs[kind]), fill(body, theirs[kind]))
                missing = call(client, method, fill(path, random_id()), fill(body, random_id()))
                assert foreign.status_code == missing.status_code, label
                assert foreign.json() == missing.json(), label
                # members and viewers may name no user but themselves: refused before any lookup
                expected = 403 if kind == "user" and role in ("member", "viewer") else 404
                assert foreign.status_code == expected, f"{label}: {foreign.text}"
                checked += 1
    assert checked >= 4 * 15
    # nothing of org B was touched: its key works, its member's token too, unrenamed
    assert (
        httpx.get(
            f"{gateway.base_url}/v1/models",
            headers={"Authorization": f"Bearer {org_b.tenant.key}"},
        ).status_code
        == 200
    )
    with as_(gateway, org_b.people["member"].token) as b_member:
        me = b_member.get(f"/users/{org_b.people['member'].id}")
        assert me.status_code == 200, me.text
        assert me.json()["display_name"] == "scoping-b-member"


def test_operator_only_routes_refuse_people_and_the_catalog_is_open(
    gateway: GatewayProcess, org_a: Org
) -> None:
    for role in ROLES:
        with as_(gateway, org_a.people[role].token) as client:
            problem(client.post("/orgs", json={"name": "mine"}), 403)
            problem(client.get("/audit"), 403)
            problem(client.get("/audit/verify"), 403)
            assert client.get("/providers").status_code == 200
            assert client.get("/users").status_code == 200
            teams = client.get("/teams")
            assert teams.status_code == 200
            assert [team["id"] for team in teams.json()["rows"]] == [org_a.tenant.team_id]
            users = client.get("/users").json()
            assert {user["org_id"] for user in users} == {org_a.id}


def test_viewers_read_and_every_write_of_theirs_is_403(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org
) -> None:
    viewer = add_person(root, org_a.id, "viewer")
    member = org_a.people["member"]
    with as_(gateway, viewer.token) as client:
        for method, path, body in (
            ("post", "/teams", {"org_id": org_a.id, "name": "viewers-team"}),
            ("post", "/keys", {"team_id": org_a.tenant.team_id, "name": "mine"}),
            ("post", f"/keys/{org_a.tenant.key_id}/rotate", {}),
            ("delete", f"/keys/{org_a.tenant.key_id}", None),
            ("post", "/users", {"org_id": org_a.id, "email": "v2@x.io", "role": "viewer"}),
            ("patch", f"/users/{member.id}", {"display_name": "renamed"}),
            ("patch", f"/users/{viewer.id}", {"role": "admin"}),
            ("post", f"/users/{member.id}/tokens", {}),
            ("post", f"/users/{viewer.id}/tokens", {}),
            ("delete", f"/admin-tokens/{member.token_id}", None),
        ):
            problem(call(client, method, path, body), 403)
        for path in ("/teams", f"/teams/{org_a.tenant.team_id}", "/users", "/usage"):
            assert client.get(path).status_code == 200, path
        assert client.get(f"/users/{member.id}").json()["display_name"] == "scoping-a-member"
        # a person may always give up their own token
        assert client.delete(f"/admin-tokens/{viewer.token_id}").json() == {
            "id": viewer.token_id,
            "revoked": True,
        }
        problem(client.get("/users"), 401)


def test_a_member_issues_keys_for_themselves_only_and_changes_only_their_own(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org
) -> None:
    member = add_person(root, org_a.id, "member")
    other = org_a.people["admin"]
    team = org_a.tenant.team_id
    with as_(gateway, member.token) as client:
        made = client.post("/keys", json={"team_id": team, "name": "my-key"})
        assert made.status_code == 201, made.text
        mine = made.json()
        named = client.post("/keys", json={"team_id": team, "name": "me", "user_id": member.id})
        assert named.status_code == 201, named.text
        problem(client.post("/keys", json={"team_id": team, "name": "x", "user_id": other.id}), 403)
        problem(client.post("/keys", json={"team_id": team, "name": "x", "user_id": "anyone"}), 403)
        problem(client.post("/teams", json={"org_id": org_a.id, "name": "members-team"}), 403)
        # someone else's key (the team's, issued by the operator with no user) is not theirs
        problem(client.post(f"/keys/{org_a.tenant.key_id}/rotate", json={}), 403)
        problem(client.delete(f"/keys/{org_a.tenant.key_id}"), 403)
        rotated = client.post(f"/keys/{mine['id']}/rotate", json={"grace_seconds": 0})
        assert rotated.status_code == 201, rotated.text
        revoked = client.delete(f"/keys/{rotated.json()['id']}")
        assert revoked.json() == {"id": rotated.json()["id"], "revoked": True}
    rows = root.get("/audit", params={"actor": f"user:{member.id}", "limit": 1000}).json()["rows"]
    created = [row for row in rows if row["action"] == "key.create"]
    assert len(created) == 3  # two issued, one by rotation
    assert {row["data"]["user_id"] for row in created} == {member.id}
    assert {row["data"]["org_id"] for row in created} == {org_a.id}


def test_roles_can_not_be_escalated_and_the_last_owner_stays(
    gateway: GatewayProcess, root: httpx.Client
) -> None:
    org = make_org(root, "escalation")
    owner, admin, member = (org.people[role] for role in ("owner", "admin", "member"))
    with as_(gateway, admin.token) as client:
        problem(
            client.post("/users", json={"org_id": org.id, "email": "o@x.io", "role": "owner"}), 403
        )
        problem(client.patch(f"/users/{member.id}", json={"role": "owner"}), 403)
        problem(client.patch(f"/users/{admin.id}", json={"role": "owner"}), 403)
        problem(client.patch(f"/users/{owner.id}", json={"role": "viewer"}), 403)
        problem(client.patch(f"/users/{owner.id}", json={"active": False}), 403)
        problem(client.post(f"/users/{owner.id}/tokens", json={}), 403)
        problem(client.delete(f"/admin-tokens/{owner.token_id}"), 403)
        problem(client.get(f"/users/{owner.id}/tokens"), 403)
        promoted = client.patch(f"/users/{member.id}", json={"role": "admin"})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["role"] == "admin"
        made = client.post("/users", json={"org_id": org.id, "email": "a2@x.io", "role": "admin"})
        assert made.status_code == 201, made.text
    with as_(gateway, member.token) as client:  # now an admin: the role is read on each call
        assert client.post("/teams", json={"org_id": org.id, "name": "promoted"}).status_code == 201
    with as_(gateway, org.people["viewer"].token) as client:
        problem(client.patch(f"/users/{org.people['viewer'].id}", json={"role": "admin"}), 403)
    with as_(gateway, owner.token) as client:
        last = problem(client.patch(f"/users/{owner.id}", json={"role": "admin"}), 409)
        assert "last active owner" in last["detail"]
        problem(client.patch(f"/users/{owner.id}", json={"active": False}), 409)
        second = client.post(
            "/users", json={"org_id": org.id, "email": "second-owner@x.io", "role": "owner"}
        )
        assert second.status_code == 201, second.text
        stepped = client.patch(f"/users/{owner.id}", json={"role": "admin"})
        assert stepped.status_code == 200, stepped.text
        # the token now carries the admin role: an owner is out of its reach
        problem(client.patch(f"/users/{second.json()['id']}", json={"role": "admin"}), 403)
    problem(root.patch(f"/users/{second.json()['id']}", json={"role": "admin"}), 409)
    taken = root.post(
        "/users", json={"org_id": org.id, "email": "SECOND-owner@X.io", "role": "viewer"}
    )
    assert problem(taken, 409)["detail"] == "a user with this email is already in the org"


def test_two_owners_stepping_down_at_once_leave_one_owner(
    gateway: GatewayProcess, root: httpx.Client
) -> None:
    for round_ in range(5):
        tenant = create_tenant(root, f"two-owners-{round_}")
        owners = [add_person(root, tenant.org_id, "owner") for _ in range(2)]

        def step_down(owner: Person) -> int:
            with as_(gateway, owner.token) as client:
                return client.patch(f"/users/{owner.id}", json={"role": "admin"}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(step_down, owners))
        assert statuses == [200, 409], statuses
        roles = [
            user["role"] for user in root.get("/users", params={"org_id": tenant.org_id}).json()
        ]
        assert sorted(roles) == ["admin", "owner"]


def test_bodies_set_only_what_their_caller_may_set(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org
) -> None:
    owner = org_a.people["owner"]
    member = org_a.people["member"]
    new_user = {"org_id": org_a.id, "email": "mass@x.io", "role": "viewer"}
    with as_(gateway, owner.token) as client:
        for extra in (
            {"id": "chosen"},
            {"active": False},
            {"external_id": "okta-1"},
            {"created_at": "2000-01-01T00:00:00Z"},
            {"user_id": member.id},
        ):
            problem(client.post("/users", json=new_user | extra), 400)
        for body in (
            {"email": "new@x.io"},
            {"org_id": org_a.id},
            {"id": "other"},
            {"external_id": "x"},
            {"role": "root"},
            {"role": None},
            {"active": "no"},
            {"display_name": "   "},
        ):
            problem(client.patch(f"/users/{member.id}", json=body), 400)
        for body in ({"user_id": owner.id}, {"role": "owner"}, {"expires_at": None}):
            problem(client.post(f"/users/{member.id}/tokens", json=body), 400)
        problem(client.post("/users", json=new_user | {"role": "superuser"}), 400)
        problem(client.post("/users", json=new_user | {"email": "not-an-email"}), 400)
        problem(
            client.post(
                "/keys", json={"team_id": org_a.tenant.team_id, "name": "k", "org_id": "x"}
            ),
            400,
        )
    assert root.get(f"/users/{member.id}").json()["role"] == "member"
    assert "mass@x.io" not in root.get("/users", params={"org_id": org_a.id}).text


def test_deactivating_a_user_or_revoking_a_token_refuses_it_at_once(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org
) -> None:
    person = add_person(root, org_a.id, "admin")
    second_id, second = issue_token(root, person.id)
    owner = org_a.people["owner"]
    with as_(gateway, person.token) as theirs, as_(gateway, owner.token) as boss:
        assert theirs.get("/users").status_code == 200
        off = boss.patch(f"/users/{person.id}", json={"active": False})
        assert off.status_code == 200
        assert off.json()["active"] is False
        body = problem(theirs.get("/users"), 401)
        assert body["code"] == "invalid_credentials"
        problem(theirs.post("/teams", json={"org_id": org_a.id, "name": "ghost"}), 401)
        problem(boss.post(f"/users/{person.id}/tokens", json={}), 409)  # no token while inactive
        on = boss.patch(f"/users/{person.id}", json={"active": True})
        assert on.status_code == 200
        assert on.json()["active"] is True
        assert theirs.get("/users").status_code == 200  # tokens are refused only while inactive
        revoked = boss.delete(f"/admin-tokens/{person.token_id}")
        assert revoked.json() == {"id": person.token_id, "revoked": True}
        problem(theirs.get("/users"), 401)
        problem(boss.delete(f"/admin-tokens/{person.token_id}"), 409)
        with as_(gateway, second) as other:
            assert other.get("/users").status_code == 200
        listed = boss.get(f"/users/{person.id}/tokens").json()
        assert {(token["id"], token["revoked_at"] is not None) for token in listed} == {
            (person.token_id, True),
            (second_id, False),
        }
    for bad in ("fra-" + secrets.token_urlsafe(32), person.token[:-1], "fra-short"):
        with as_(gateway, bad) as client:
            problem(client.get("/users"), 401)


def test_usage_is_scoped_to_the_callers_org(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org, org_b: Org
) -> None:
    for org in (org_a, org_b):
        answer = httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {org.tenant.key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def orgs_in_usage() -> set[str]:
        rows = root.get("/usage", params={"group_by": "org"}).json()["rows"]
        return {row["org"] for row in rows}

    eventually(lambda: {org_a.id, org_b.id} <= orgs_in_usage())
    for role in ROLES:
        with as_(gateway, org_a.people[role].token) as client:
            for params in ({"group_by": "org"}, {"group_by": "org", "org_id": org_a.id}):
                rows = client.get("/usage", params=params).json()["rows"]
                assert [row["org"] for row in rows] == [org_a.id], params
            teams = client.get("/usage", params={"group_by": "team"}).json()["rows"]
            assert {row["team"] for row in teams} == {org_a.tenant.team_id}
    only_b = root.get("/usage", params={"group_by": "org", "org_id": org_b.id}).json()["rows"]
    assert [row["org"] for row in only_b] == [org_b.id]


def test_audit_rows_name_the_person_who_acted(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org
) -> None:
    admin = org_a.people["admin"]
    with as_(gateway, admin.token) as client:
        team = client.post("/teams", json={"org_id": org_a.id, "name": "audited-team"})
        assert team.status_code == 201, team.text
        user = client.post(
            "/users", json={"org_id": org_a.id, "email": "audited@x.io", "role": "member"}
        )
        assert user.status_code == 201, user.text
        token_id, _ = issue_token(client, user.json()["id"])
        assert (
            client.patch(f"/users/{user.json()['id']}", json={"role": "viewer"}).status_code == 200
        )
        assert client.delete(f"/admin-tokens/{token_id}").status_code == 200
    rows = root.get("/audit", params={"actor": f"user:{admin.id}", "limit": 1000}).json()["rows"]
    targets = {(row["action"], row["target"]) for row in rows}
    assert {
        ("team.create", f"team:{team.json()['id']}"),
        ("user.create", f"user:{user.json()['id']}"),
        ("admin_token.create", f"admin_token:{token_id}"),
        ("user.change", f"user:{user.json()['id']}"),
        ("admin_token.revoke", f"admin_token:{token_id}"),
    } <= targets
    change = next(row for row in rows if row["action"] == "user.change")
    assert change["data"] == {"org_id": org_a.id, "role": "viewer"}
    assert root.get("/audit/verify").json()["ok"] is True


def test_admin_tokens_never_appear_in_audit_rows_answers_or_logs(
    gateway: GatewayProcess, root: httpx.Client, org_a: Org, org_b: Org
) -> None:
    assert len(ISSUED) >= 8
    seen: list[str] = []
    after = 0
    while True:
        page = root.get("/audit", params={"after_seq": after, "limit": 1000}).json()
        seen.extend(str(row) for row in page["rows"])
        if page["next_after_seq"] is None:
            break
        after = page["next_after_seq"]
    for org in (org_a, org_b):
        seen.append(root.get("/users", params={"org_id": org.id}).text)
        for person in org.people.values():
            seen.append(root.get(f"/users/{person.id}").text)
            seen.append(root.get(f"/users/{person.id}/tokens").text)
            with as_(gateway, person.token) as client:
                seen.append(client.get("/users").text)
    text = "\n".join(seen) + gateway.logs()
    assert "admin_token.create" in text
    for token in ISSUED:
        assert token not in text
        assert token[12:] not in text
        assert hashlib.sha256(token.encode()).hexdigest() not in text
