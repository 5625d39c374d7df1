"""Orgs, teams and keys as a script manages them through the real gateway, on both shapes:
lists paged by id, reads (never a key's secret), renames and metadata, deletes that keep usage
and audit rows pointing somewhere, every change in the audit log and the chain verified."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually

KEY_FIELDS = {
    "id",
    "prefix",
    "name",
    "team_id",
    "org_id",
    "user_id",
    "models",
    "created_at",
    "expires_at",
    "revoked_at",
    "active",
    "metadata",
}


@pytest.fixture(scope="module")
def gateway(each_shape: GatewayProcess) -> GatewayProcess:
    """The gateway of the shared `admin` fixture: each shape in turn."""
    return each_shape


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    label = f"{answer.request.method} {answer.request.url}: {answer.text}"
    assert answer.status_code == status, label
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def every_page(client: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every row of a paged list, and how many pages it took."""
    rows: list[dict[str, Any]] = []
    pages = 0
    after: str | None = None
    while True:
        query = dict(params) | ({"after_id": after} if after else {})
        answer = client.get(path, params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"rows", "next_after_id"}
        rows.extend(body["rows"])
        pages += 1
        after = body["next_after_id"]
        if after is None:
            return rows, pages
        assert after == body["rows"][-1]["id"]


def audit_rows(client: httpx.Client, target: str) -> list[dict[str, Any]]:
    answer = client.get("/audit", params={"target": target, "limit": 1000})
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


def models_status(gateway: GatewayProcess, key: str) -> int:
    return httpx.get(
        f"{gateway.base_url}/v1/models", headers={"Authorization": f"Bearer {key}"}
    ).status_code


def new_key(client: httpx.Client, team_id: str, name: str, **extra: Any) -> dict[str, Any]:
    made = client.post("/keys", json={"team_id": team_id, "name": name, **extra})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_lists_page_by_id_and_filter(each_shape: GatewayProcess, admin: httpx.Client) -> None:
    tenant = create_tenant(admin, "paging")
    teams = [tenant.team_id]
    for n in range(4):
        made = admin.post("/teams", json={"org_id": tenant.org_id, "name": f"paging-{n}"})
        assert made.status_code == 201, made.text
        teams.append(made.json()["id"])
    user = admin.post(
        "/users", json={"org_id": tenant.org_id, "email": "pager@x.io", "role": "member"}
    ).json()["id"]
    issued = [new_key(admin, teams[1], f"k{n}", user_id=user) for n in range(3)]
    issued.append(new_key(admin, teams[2], "other-team", models=["gpt-4o-mini"]))

    taken = admin.post("/teams", json={"org_id": tenant.org_id, "name": "paging-0"})
    assert problem(taken, 409)["detail"] == "the org has a team named 'paging-0' already"
    listed, pages = every_page(admin, "/teams", org_id=tenant.org_id, limit=2)
    assert [team["id"] for team in listed] == teams  # oldest first
    assert pages == 3
    assert {team["org_id"] for team in listed} == {tenant.org_id}

    orgs, _ = every_page(admin, "/orgs", limit=3)
    assert tenant.org_id in {org["id"] for org in orgs}
    assert [org["id"] for org in orgs] == sorted(org["id"] for org in orgs)
    shown = admin.get(f"/orgs/{tenant.org_id}").json()
    assert shown == next(org for org in orgs if org["id"] == tenant.org_id)
    assert shown["name"] == "paging-org"
    assert shown["metadata"] == {}
    assert shown["deleted_at"] is None

    by_team, pages = every_page(admin, "/keys", team_id=teams[1], limit=1)
    assert [key["id"] for key in by_team] == [key["id"] for key in issued[:3]]
    assert pages == 4  # the last page is empty: a full page can't tell it was the last
    by_user, _ = every_page(admin, "/keys", user_id=user)
    assert [key["id"] for key in by_user] == [key["id"] for key in issued[:3]]
    in_org, _ = every_page(admin, "/keys", org_id=tenant.org_id)
    assert [key["id"] for key in in_org] == [tenant.key_id] + [key["id"] for key in issued]
    both, _ = every_page(admin, "/keys", team_id=teams[2], user_id=user)
    assert both == []

    one = admin.get(f"/keys/{issued[3]['id']}").json()
    assert set(one) == KEY_FIELDS
    assert one["prefix"] == issued[3]["prefix"]
    assert one["name"] == "other-team"
    assert one["models"] == ["gpt-4o-mini"]
    assert one["active"] is True
    assert one == next(key for key in in_org if key["id"] == one["id"])
    secrets_ = [key["key"] for key in issued]
    text = admin.get("/keys", params={"org_id": tenant.org_id}).text + str(one)
    for secret in secrets_:
        assert secret not in text
        assert secret[11:] not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text


def test_renames_and_metadata_are_audited(each_shape: GatewayProcess, admin: httpx.Client) -> None:
    tenant = create_tenant(admin, "labels")
    labels = {"cost_center": "R&D-42", "tags": ["a", 1, None], "nested": {"ok": True}}
    org = admin.patch(f"/orgs/{tenant.org_id}", json={"name": "Labels Inc", "metadata": labels})
    assert org.status_code == 200, org.text
    assert org.json()["name"] == "Labels Inc"
    assert org.json()["metadata"] == labels
    team = admin.patch(f"/teams/{tenant.team_id}", json={"name": "Research"})
    assert team.status_code == 200, team.text
    assert team.json()["name"] == "Research"
    assert team.json()["metadata"] == {}
    team = admin.patch(f"/teams/{tenant.team_id}", json={"metadata": {"owner": "ada"}})
    assert admin.get(f"/teams/{tenant.team_id}").json() == team.json()
    assert team.json()["name"] == "Research"
    assert team.json()["metadata"] == {"owner": "ada"}
    key = admin.patch(f"/keys/{tenant.key_id}", json={"name": "ci-bot", "metadata": {"t": "OPS-1"}})
    assert key.status_code == 200, key.text
    assert key.json()["name"] == "ci-bot"
    assert key.json()["metadata"] == {"t": "OPS-1"}
    assert admin.get(f"/keys/{tenant.key_id}").json() == key.json()
    # sending the same values again changes nothing and writes no audit row
    assert admin.patch(f"/teams/{tenant.team_id}", json={"name": "Research"}).status_code == 200
    assert admin.patch(f"/keys/{tenant.key_id}", json={}).json() == key.json()
    cleared = admin.patch(f"/orgs/{tenant.org_id}", json={"metadata": {}})
    assert cleared.json()["metadata"] == {}
    assert cleared.json()["name"] == "Labels Inc"
    assert models_status(each_shape, tenant.key) == 200  # a renamed key keeps working

    org_rows = audit_rows(admin, f"org:{tenant.org_id}")
    assert [(row["action"], row["actor"], row["data"]) for row in org_rows[1:]] == [
        ("org.change", "admin", {"name": "Labels Inc", "metadata": labels}),
        ("org.change", "admin", {"metadata": {}}),
    ]
    team_rows = audit_rows(admin, f"team:{tenant.team_id}")
    assert [(row["action"], row["data"]) for row in team_rows[1:]] == [
        (
            "team.rename",
            {"org_id": tenant.org_id, "name": "Research", "previous_name": "labels-team"},
        ),
        ("team.change", {"org_id": tenant.org_id, "metadata": {"owner": "ada"}}),
    ]
    key_rows = audit_rows(admin, f"key:{tenant.key_id}")
    assert [(row["action"], row["data"]) for row in key_rows[1:]] == [
        (
            "key.change",
            {
                "team_id": tenant.team_id,
                "org_id": tenant.org_id,
                "name": "ci-bot",
                "metadata": {"t": "OPS-1"},
            },
        )
    ]
    assert admin.get("/audit/verify", params={"full": "true"}).json()["ok"] is True


def test_deleting_a_team_revokes_its_keys_and_keeps_its_rows(
    each_shape: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "doomed")
    second = new_key(admin, tenant.team_id, "second")
    already = new_key(admin, tenant.team_id, "already-revoked")
    assert admin.delete(f"/keys/{already['id']}").status_code == 200
    spoken = httpx.post(
        f"{each_shape.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert spoken.status_code == 200, spoken.text
    assert models_status(each_shape, second["key"]) == 200  # cached as valid

    def teams_in_usage() -> set[str]:
        rows = admin.get("/usage", params={"group_by": "team"}).json()["rows"]
        return {row["team"] for row in rows}

    eventually(lambda: tenant.team_id in teams_in_usage(), timeout=60)

    deleted = admin.delete(f"/teams/{tenant.team_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "id": tenant.team_id,
        "deleted": True,
        "revoked_keys": [tenant.key_id, second["id"]],
    }
    eventually(lambda: models_status(each_shape, second["key"]) == 401, timeout=5)
    assert models_status(each_shape, tenant.key) == 401

    shown = admin.get(f"/teams/{tenant.team_id}").json()
    assert shown["deleted_at"] is not None
    assert shown["name"] == "doomed-team"
    assert admin.get("/teams", params={"org_id": tenant.org_id}).json()["rows"] == []
    with_deleted = admin.get(
        "/teams", params={"org_id": tenant.org_id, "include_deleted": "true"}
    ).json()["rows"]
    assert [team["id"] for team in with_deleted] == [tenant.team_id]
    keys = admin.get("/keys", params={"team_id": tenant.team_id}).json()["rows"]
    assert [(key["id"], key["active"]) for key in keys] == [
        (tenant.key_id, False),
        (second["id"], False),
        (already["id"], False),
    ]
    assert all(key["revoked_at"] is not None for key in keys)
    assert tenant.team_id in teams_in_usage()  # usage still names the team

    conflict = problem(admin.post("/keys", json={"team_id": tenant.team_id, "name": "x"}), 409)
    assert "deleted" in conflict["detail"]
    problem(admin.patch(f"/teams/{tenant.team_id}", json={"name": "revived"}), 409)
    problem(admin.delete(f"/teams/{tenant.team_id}"), 409)
    problem(admin.delete(f"/keys/{tenant.key_id}"), 409)  # revoked already, as before
    problem(admin.post(f"/keys/{second['id']}/rotate", json={}), 409)
    # the name stays taken in the org (the row keeps it)
    problem(admin.post("/teams", json={"org_id": tenant.org_id, "name": "doomed-team"}), 409)

    rows = audit_rows(admin, f"team:{tenant.team_id}")
    assert rows[-1]["action"] == "team.delete"
    assert rows[-1]["data"] == {
        "org_id": tenant.org_id,
        "revoked_keys": [tenant.key_id, second["id"]],
    }
    actions = [row["action"] for row in audit_rows(admin, f"key:{second['id']}")]
    assert actions == ["key.create", "key.revoke"]
    assert admin.get("/audit/verify", params={"full": "true"}).json()["ok"] is True


def test_an_org_is_deleted_only_once_it_holds_nothing_live(
    each_shape: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "closing")
    person = admin.post(
        "/users", json={"org_id": tenant.org_id, "email": "last@x.io", "role": "owner"}
    ).json()
    token = admin.post(f"/users/{person['id']}/tokens", json={}).json()["token"]
    scim = admin.post(f"/orgs/{tenant.org_id}/scim-tokens", json={})
    assert scim.status_code == 201, scim.text

    with httpx.Client(
        base_url=f"{each_shape.base_url}/admin/v1", headers={"Authorization": f"Bearer {token}"}
    ) as owner:
        problem(owner.delete(f"/orgs/{tenant.org_id}"), 403)  # the admin key only

    held = problem(admin.delete(f"/orgs/{tenant.org_id}"), 409)
    assert held["detail"] == (
        "The org still holds 1 team, 1 SCIM token: first delete its teams, revoke its SCIM tokens."
    )
    assert admin.delete(f"/teams/{tenant.team_id}").status_code == 200
    assert admin.delete(f"/orgs/{tenant.org_id}/scim-tokens/{scim.json()['id']}").status_code == 200
    deleted = admin.delete(f"/orgs/{tenant.org_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": tenant.org_id, "deleted": True}

    # its people were deactivated with it, the last owner too: their tokens are refused
    assert admin.get(f"/users/{person['id']}").json()["active"] is False
    with httpx.Client(
        base_url=f"{each_shape.base_url}/admin/v1", headers={"Authorization": f"Bearer {token}"}
    ) as owner:
        problem(owner.get("/teams"), 401)
    change = audit_rows(admin, f"user:{person['id']}")[-1]
    assert (change["action"], change["actor"]) == ("user.change", "admin")
    assert change["data"] == {"org_id": tenant.org_id, "active": False}
    shown = admin.get(f"/orgs/{tenant.org_id}").json()
    assert shown["deleted_at"] is not None
    assert shown["name"] == "closing-org"
    listed, _ = every_page(admin, "/orgs", limit=200)
    assert tenant.org_id not in {org["id"] for org in listed}
    everything, _ = every_page(admin, "/orgs", limit=200, include_deleted="true")
    assert tenant.org_id in {org["id"] for org in everything}
    for method, path, body in (
        ("post", "/teams", {"org_id": tenant.org_id, "name": "late"}),
        ("post", "/users", {"org_id": tenant.org_id, "email": "late@x.io", "role": "viewer"}),
        ("post", f"/orgs/{tenant.org_id}/scim-tokens", {}),
        ("patch", f"/orgs/{tenant.org_id}", {"name": "revived"}),
        ("patch", f"/users/{person['id']}", {"active": True}),
        ("delete", f"/orgs/{tenant.org_id}", None),
    ):
        answer = admin.request(method, path, json=body) if body is not None else admin.delete(path)
        assert "deleted" in problem(answer, 409)["detail"], (method, path)
    actions = [row["action"] for row in audit_rows(admin, f"org:{tenant.org_id}")]
    assert actions == ["org.create", "org.delete"]
    assert admin.get("/audit/verify", params={"full": "true"}).json()["ok"] is True


def test_a_key_reads_back_the_limits_set_on_it(admin: httpx.Client) -> None:
    tenant = create_tenant(admin, "limited")
    empty = admin.get(f"/keys/{tenant.key_id}/limits")
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "scope": "key",
        "id": tenant.key_id,
        "rpm": None,
        "tpm": None,
        "budgets": [],
    }
    put = admin.put(
        f"/keys/{tenant.key_id}/limits",
        json={"rpm": 60, "tpm": 10000, "max_usd": "1.5", "period": "day"},
    )
    assert put.status_code == 200, put.text
    assert admin.get(f"/keys/{tenant.key_id}/limits").json() == put.json()
    assert put.json()["budgets"] == [
        {"scope": "key", "id": tenant.key_id, "period": "day", "max_usd": "1.5", "max_tokens": None}
    ]
    team = admin.put(f"/teams/{tenant.team_id}/limits", json={"rpm": 5})
    assert admin.get(f"/teams/{tenant.team_id}/limits").json() == team.json()
    problem(admin.get(f"/keys/{secrets.token_hex(16)}/limits"), 404)


HUGE = {"blob": "x" * 8200}
DEEP: dict[str, Any] = {"deep": 1}
for _ in range(20):
    DEEP = {"deep": [DEEP]}


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "status"),
    [
        ("get", "/orgs", None, {"after_id": "'; drop table orgs; --"}, 400),
        ("get", "/orgs", None, {"after_id": "a" * 65}, 400),
        ("get", "/teams", None, {"after_id": "bad cursor"}, 400),
        ("get", "/keys", None, {"after_id": "\u00e9t\u00e9"}, 400),
        ("get", "/keys", None, {"limit": "0"}, 400),
        ("get", "/keys", None, {"limit": "201"}, 400),
        ("get", "/teams", None, {"limit": "ten"}, 400),
        ("get", "/orgs", None, {"include_deleted": "perhaps"}, 400),
        ("get", "/keys", None, {"team_id": "a\x00b"}, 400),
        ("get", "/keys", None, {"user_id": "u" * 65}, 400),
        ("get", "/keys/{key}", None, None, 200),
        ("get", "/keys/%00", None, None, 0),  # 0: any 4xx problem (the shapes differ)
        ("get", "/orgs/" + "o" * 5000, None, None, 404),
        ("get", "/teams/%E2%98%83", None, None, 404),
        ("patch", "/keys/{key}", {"metadata": HUGE}, None, 400),
        ("patch", "/orgs/{org}", {"metadata": {f"k{n}": n for n in range(65)}}, None, 400),
        ("patch", "/teams/{team}", {"metadata": ["not", "an", "object"]}, None, 400),
        ("patch", "/teams/{team}", {"metadata": None}, None, 400),
        ("patch", "/teams/{team}", {"name": "   "}, None, 400),
        ("patch", "/teams/{team}", {"name": "n" * 201}, None, 400),
        ("patch", "/keys/{key}", {"name": None}, None, 400),
        ("patch", "/keys/{key}", {"revoked_at": None}, None, 400),
        ("patch", "/orgs/{org}", {"id": "chosen"}, None, 400),
        ("patch", "/keys/{key}", {"metadata": DEEP}, None, 200),
    ],
)
def test_hostile_inputs_get_problems_never_500(
    admin: httpx.Client,
    method: str,
    path: str,
    body: Any,
    params: dict[str, str] | None,
    status: int,
) -> None:
    tenant = hostile_tenant(admin)
    path = path.format(org=tenant.org_id, team=tenant.team_id, key=tenant.key_id)
    answer = admin.request(method, path, json=body, params=params)
    if status == 200:
        assert answer.status_code == 200, answer.text
    else:
        problem(answer, status or answer.status_code)
        assert 400 <= answer.status_code < 500


def test_bodies_that_are_not_json_or_nested_too_deeply(admin: httpx.Client) -> None:
    tenant = hostile_tenant(admin)
    before = admin.get(f"/keys/{tenant.key_id}").json()
    deep = b'{"metadata": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    for raw in (b"{", b"\xff\xfe", b"[]", b"null", deep):
        answer = admin.patch(
            f"/keys/{tenant.key_id}", content=raw, headers={"content-type": "application/json"}
        )
        problem(answer, 400)
    assert admin.get(f"/keys/{tenant.key_id}").json() == before


_HOSTILE: dict[int, Tenant] = {}


def hostile_tenant(admin: httpx.Client) -> Tenant:
    """One tenant per gateway for the hostile inputs (they change nothing)."""
    port = httpx.URL(str(admin.base_url)).port or 0
    if port not in _HOSTILE:
        _HOSTILE[port] = create_tenant(admin, "hostile")
    return _HOSTILE[port]


def test_deactivating_a_person_answers_at_once(admin: httpx.Client) -> None:
    """On SQLite the wave that ends the person's dashboard sessions holds the only write lock;
    ending them from another transaction inside it waited out the 30 s busy timeout."""
    tenant = create_tenant(admin, "deactivated")
    person = admin.post(
        "/users", json={"org_id": tenant.org_id, "email": "gone@x.io", "role": "member"}
    ).json()
    started = time.monotonic()
    off = admin.patch(f"/users/{person['id']}", json={"active": False})
    assert off.status_code == 200, off.text
    assert time.monotonic() - started < 5
    on = admin.patch(f"/users/{person['id']}", json={"active": True})  # the database is free
    assert on.status_code == 200, on.text
    assert admin.get("/audit/verify").json()["ok"] is True
