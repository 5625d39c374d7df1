"""A SCIM token acts with the role of whoever issued it: one an org admin issued deactivates,
replaces and deletes no owner, and moves no one into or out of a group granting owner (a SCIM
403), as the admin API refuses the admin; people of its own rank and below it provisions as
Okta and Entra ID do. The admin key's tokens keep the directory's last word on everyone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import Browser
from tests.support.gateway import GatewayProcess
from tests.support.saml_idp import SamlIdp, post_form
from tests.support.scim import SCIM_JSON, scim_client
from tests.support.tenants import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class Org:
    org_id: str
    owner_id: str
    admin_id: str
    admin_scim: httpx.Client  # a SCIM token the org's admin issued
    root_scim: httpx.Client  # one the admin key issued
    issued: dict[str, Any]  # the admin's token as issuing it answered
    by_root: dict[str, Any]


def provision(scim: httpx.Client, user_name: str) -> str:
    made = scim.post(
        "/Users",
        json={
            "schemas": [USER],
            "userName": user_name,
            "emails": [{"value": user_name, "primary": True}],
            "active": True,
        },
        headers={"Content-Type": SCIM_JSON},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@pytest.fixture
def org(gateway: GatewayProcess, root: httpx.Client) -> Iterator[Org]:
    """An org whose directory provisioned an owner and an admin (then given their roles by the
    operator), and a SCIM token from each of the admin and the admin key."""
    made = root.post("/orgs", json={"name": f"scim-roles-{secrets.token_hex(3)}"})
    assert made.status_code == 201, made.text
    org_id = made.json()["id"]
    by_root = root.post(f"/orgs/{org_id}/scim-tokens", json={})
    assert by_root.status_code == 201, by_root.text
    with scim_client(gateway, by_root.json()["token"]) as root_scim:
        people = {role: provision(root_scim, f"{role}@roles.test") for role in ("owner", "admin")}
        for role, user_id in people.items():
            assert root.patch(f"/users/{user_id}", json={"role": role}).status_code == 200
        admin_token = root.post(f"/users/{people['admin']}/tokens", json={})
        assert admin_token.status_code == 201, admin_token.text
        with httpx.Client(
            base_url=f"{gateway.base_url}/admin/v1",
            timeout=10,
            headers={"Authorization": f"Bearer {admin_token.json()['token']}"},
        ) as admin:
            issued = admin.post(f"/orgs/{org_id}/scim-tokens", json={})
        assert issued.status_code == 201, issued.text
        with scim_client(gateway, issued.json()["token"]) as admin_scim:
            yield Org(
                org_id,
                people["owner"],
                people["admin"],
                admin_scim,
                root_scim,
                issued.json(),
                by_root.json(),
            )


def test_a_token_shows_the_role_it_acts_with(root: httpx.Client, org: Org) -> None:
    assert (org.issued["role"], org.by_root["role"]) == ("admin", "owner")
    listed = {t["id"]: t["role"] for t in root.get(f"/orgs/{org.org_id}/scim-tokens").json()}
    assert listed == {org.issued["id"]: "admin", org.by_root["id"]: "owner"}
    issued = eventually(
        lambda: [
            row
            for row in root.get(
                "/audit", params={"action": "scim_token.create", "limit": 1000}
            ).json()["rows"]
            if row["target"] == f"scim_token:{org.issued['id']}"
        ]
    )
    assert issued[0]["data"]["role"] == "admin"


def scim_forbidden(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith(SCIM_JSON), answer.headers
    body = answer.json()
    assert body["schemas"] == [ERROR], body
    assert body["status"] == "403", body


def deactivate(scim: httpx.Client, user_id: str) -> httpx.Response:
    return scim.patch(
        f"/Users/{user_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )


def replace(scim: httpx.Client, user_id: str, user_name: str, active: bool) -> httpx.Response:
    return scim.put(
        f"/Users/{user_id}",
        json={"schemas": [USER], "userName": user_name, "active": active},
    )


def test_an_admins_token_deactivates_replaces_and_deletes_no_owner(
    root: httpx.Client, org: Org
) -> None:
    scim_forbidden(deactivate(org.admin_scim, org.owner_id))
    scim_forbidden(replace(org.admin_scim, org.owner_id, "owner@roles.test", active=False))
    renamed = org.admin_scim.patch(
        f"/Users/{org.owner_id}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "userName", "value": "taken@evil.test"}],
        },
    )
    scim_forbidden(renamed)
    scim_forbidden(org.admin_scim.delete(f"/Users/{org.owner_id}"))
    owner = root.get(f"/users/{org.owner_id}").json()
    assert (owner["role"], owner["active"], owner["deleted_at"]) == ("owner", True, None)
    assert owner["user_name"] == "owner@roles.test"
    # the admin key's token is the directory's word on everyone, owners too
    assert deactivate(org.root_scim, org.owner_id).status_code == 200
    assert root.get(f"/users/{org.owner_id}").json()["active"] is False


def test_an_admins_token_provisions_people_of_its_rank_and_below_as_okta_and_entra_do(
    root: httpx.Client, org: Org
) -> None:
    maria = provision(org.admin_scim, "maria@roles.test")
    assert deactivate(org.admin_scim, maria).status_code == 200  # Okta's deactivation
    assert replace(org.admin_scim, maria, "maria@roles.test", active=True).status_code == 200
    entra_off = org.admin_scim.patch(  # Entra's
        f"/Users/{maria}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert entra_off.status_code == 200, entra_off.text
    assert deactivate(org.admin_scim, org.admin_id).status_code == 200  # its own rank
    assert org.admin_scim.delete(f"/Users/{maria}").status_code == 204
    assert root.get(f"/users/{maria}").json()["deleted_at"] is not None

    def changed_by_scim() -> set[str]:
        rows = root.get("/audit", params={"action": "user.change", "limit": 1000}).json()["rows"]
        return {r["target"] for r in rows if r["actor"].startswith("scim:")}

    targets = eventually(lambda: f"user:{maria}" in changed_by_scim() and changed_by_scim())
    assert f"user:{org.owner_id}" not in targets


def test_an_admins_token_changes_no_one_in_a_group_granting_owner(
    gateway: GatewayProcess, root: httpx.Client, org: Org, tmp_path: Path
) -> None:
    # a group granting owner, made by the operator's SSO connection when Lena signed in
    idp = SamlIdp(tmp_path)
    connection = root.post(
        f"/orgs/{org.org_id}/sso-connections",
        json={
            "kind": "saml",
            "idp_metadata_xml": idp.metadata_xml(),
            "groups_claim": "groups",
            "role_map": {"Leads": {"role": "owner"}, "Platform": {"team": "Platform"}},
        },
    )
    assert connection.status_code == 201, connection.text
    idp.trust(httpx.get(connection.json()["metadata_url"], timeout=10).text)
    with Browser() as browser:
        location = browser.get(f"{connection.json()['login_url']}?next=/")
        assert location.status_code == 302, location.text
        xml, _ = idp.answer(
            location.headers["location"],
            name_id="lena@roles.test",
            attributes={"email": ["lena@roles.test"], "groups": ["Leads", "Platform"]},
        )
        done = browser.http.post(connection.json()["acs_url"], data=post_form(xml))
        assert done.status_code == 303, done.text
        lena = browser.http.get(f"{gateway.base_url}/admin/v1/me").json()
    assert lena["roles"] == ["owner"]
    groups = {
        g["displayName"]: g
        for g in eventually(lambda: org.admin_scim.get("/Groups").json()["Resources"])
    }
    leads, platform = groups["Leads"]["id"], groups["Platform"]["id"]

    def members(group_id: str, op: str, user_id: str) -> httpx.Response:
        return org.admin_scim.patch(
            f"/Groups/{group_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": op, "path": "members", "value": [{"value": user_id}]}],
            },
        )

    scim_forbidden(members(leads, "add", org.admin_id))  # the admin making itself owner
    scim_forbidden(members(leads, "remove", lena["user_id"]))  # or demoting an owner
    scim_forbidden(org.admin_scim.delete(f"/Groups/{leads}"))
    assert root.get(f"/users/{org.admin_id}").json()["role"] == "admin"
    assert root.get(f"/users/{lena['user_id']}").json()["role"] == "owner"
    # a group that grants a team, not a role, takes anyone in and out
    assert members(platform, "add", org.owner_id).status_code == 204
    assert members(platform, "remove", org.owner_id).status_code == 204
