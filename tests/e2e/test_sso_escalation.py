"""An org admin may not become owner through single sign-on: a connection grants no role above
its maker's, and a sign-in through it neither links a person it has no ground to link nor lets
in one who outranks its maker, whatever the identity provider (one the admin controls: the npm
`oidc-provider`, or a pysaml2 IdP that signs what it is told) says. Each decision is audited."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.browser import Browser
from tests.support.gateway import GatewayProcess
from tests.support.oidc_peer import OidcPeer
from tests.support.saml_idp import FIRST_REQUEST_TIMEOUT, SamlIdp, post_form
from tests.support.tenants import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

DOMAIN = "esc.test"
OWNER_EMAIL = f"olivia@{DOMAIN}"


def _account(name: str, groups: list[str] | None = None, email: str | None = None) -> Any:
    return {"email": email or f"{name}@{DOMAIN}", "email_verified": True, "groups": groups or []}


ACCOUNTS: dict[str, dict[str, Any]] = {
    "claims-owner": _account("x", email=OWNER_EMAIL),  # the admin's IdP names the owner
    "dana": _account("dana"),
    "newbie": _account("newbie", ["admins"]),
    "fresh": _account("fresh", ["admins"]),
    "later": _account("later"),
}


@dataclass(frozen=True)
class Org:
    """An org with an owner (made through the admin API, not the directory) and an admin who
    signs in to the admin API with an admin token of their own."""

    org_id: str
    owner_id: str
    admin_id: str
    admin: httpx.Client


@pytest.fixture
def org(gateway: GatewayProcess, root: httpx.Client) -> Iterator[Org]:
    made = root.post("/orgs", json={"name": f"escalation-{secrets.token_hex(3)}"})
    assert made.status_code == 201, made.text
    org_id = made.json()["id"]
    owner = root.post("/users", json={"org_id": org_id, "email": OWNER_EMAIL, "role": "owner"})
    assert owner.status_code == 201, owner.text
    adam = root.post("/users", json={"org_id": org_id, "email": f"adam@{DOMAIN}", "role": "admin"})
    assert adam.status_code == 201, adam.text
    token = root.post(f"/users/{adam.json()['id']}/tokens", json={})
    assert token.status_code == 201, token.text
    with httpx.Client(
        base_url=f"{gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {token.json()['token']}"},
    ) as admin:
        yield Org(org_id, owner.json()["id"], adam.json()["id"], admin)


def oidc_body(peer: OidcPeer, **settings: Any) -> dict[str, Any]:
    return {
        "kind": "oidc",
        "issuer": peer.issuer,
        "client_id": peer.client_id,
        "client_secret": peer.client_secret,
        "scopes": ["openid", "email", "profile", "groups"],
        "groups_claim": "groups",
    } | settings


def forbidden(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    assert answer.json()["code"] == "forbidden", answer.text


def sign_in(browser: Browser, gateway: GatewayProcess, login_url: str, login: str) -> Any:
    """Signs in at the OIDC peer as `login`; the gateway's answer to the callback."""
    to_provider = browser.get(f"{login_url}?{urlencode({'next': '/dashboard'})}")
    assert to_provider.status_code == 302, to_provider.text
    page = browser.follow(to_provider, until=gateway.base_url)
    if not page.is_redirect:
        page = browser.follow(browser.submit(page, {"login": login, "password": "any"}))
        if 'name="prompt" value="consent"' in page.text:
            page = browser.submit(page, {})
        page = browser.follow(page, until=gateway.base_url)
    assert page.is_redirect, page.text[:500]
    return browser.get(str(page.headers["location"]))


def refused(answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == code, answer.text
    assert "fluxrouter_session" not in answer.headers.get("set-cookie", "")


def audited(root: httpx.Client, action: str, where: Any) -> list[dict[str, Any]]:
    def rows() -> list[dict[str, Any]]:
        found = root.get("/audit", params={"action": action, "limit": 1000}).json()["rows"]
        return [row for row in found if where(row)]

    return list(eventually(rows))


def failures_of(root: httpx.Client, connection_id: str, reason: str) -> list[dict[str, Any]]:
    return audited(
        root,
        "sso.sign_in_failed",
        lambda row: (
            row["target"] == f"sso_connection:{connection_id}" and row["data"]["reason"] == reason
        ),
    )


def test_an_admin_may_not_make_or_change_a_connection_into_one_that_grants_owner(
    gateway: GatewayProcess,
    root: httpx.Client,
    peer: OidcPeer,
    org: Org,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = f"/orgs/{org.org_id}/sso-connections"
    forbidden(org.admin.post(path, json=oidc_body(peer, default_role="owner")))
    forbidden(org.admin.post(path, json=oidc_body(peer, role_map={"ceo": {"role": "owner"}})))
    idp = SamlIdp(tmp_path_factory.mktemp("saml-refused"))
    saml = {"kind": "saml", "idp_metadata_xml": idp.metadata_xml()}
    forbidden(org.admin.post(path, json=saml | {"role_map": {"x": {"role": "owner"}}}))
    assert root.get(path).json() == []

    made = org.admin.post(path, json=oidc_body(peer, role_map={"admins": {"role": "admin"}}))
    assert made.status_code == 201, made.text
    assert (made.json()["set_by"], made.json()["set_by_role"]) == (f"user:{org.admin_id}", "admin")
    url = f"/sso-connections/{made.json()['id']}"
    forbidden(org.admin.patch(url, json={"default_role": "owner"}))
    forbidden(org.admin.patch(url, json={"role_map": {"admins": {"role": "owner"}}}))
    assert root.get(url).json()["role_map"] == {"admins": {"role": "admin"}}

    # the operator (or an owner) may; the connection then acts on their authority, which an
    # admin may not borrow by changing it
    raised = root.patch(url, json={"role_map": {"admins": {"role": "owner"}}})
    assert raised.status_code == 200, raised.text
    assert (raised.json()["set_by"], raised.json()["set_by_role"]) == ("admin", "owner")
    forbidden(org.admin.patch(url, json={"issuer": peer.issuer}))
    forbidden(org.admin.patch(url, json={}))


def test_an_id_token_naming_the_owner_through_an_admins_connection_is_not_an_owner_session(
    gateway: GatewayProcess, root: httpx.Client, peer: OidcPeer, org: Org
) -> None:
    made = org.admin.post(
        f"/orgs/{org.org_id}/sso-connections",
        json=oidc_body(peer, role_map={"admins": {"role": "admin"}}),
    )
    assert made.status_code == 201, made.text
    connection = made.json()
    with Browser() as browser:  # no ground to link the owner's address to this provider
        refused(sign_in(browser, gateway, connection["login_url"], "claims-owner"), "not_linkable")
        assert browser.http.get(f"{gateway.base_url}/admin/v1/me").status_code == 401
    failures_of(root, connection["id"], "not_linkable")

    declared = root.put(f"/orgs/{org.org_id}/sign-in-domains", json={"domains": [DOMAIN]})
    assert declared.status_code == 200, declared.text
    with Browser() as browser:  # the org's own domain now, but the owner outranks the admin
        answer = sign_in(browser, gateway, connection["login_url"], "claims-owner")
        refused(answer, "outranks_connection")
        assert browser.http.get(f"{gateway.base_url}/admin/v1/me").status_code == 401
    failures_of(root, connection["id"], "outranks_connection")
    owner = root.get(f"/users/{org.owner_id}").json()
    assert (owner["role"], owner["active"]) == ("owner", True)
    signed_in = root.get("/audit", params={"action": "sso.sign_in", "limit": 1000}).json()
    assert not [
        row for row in signed_in["rows"] if row["target"] == f"sso_connection:{connection['id']}"
    ]


def test_a_signed_saml_assertion_naming_the_owner_is_not_an_owner_session(
    gateway: GatewayProcess,
    root: httpx.Client,
    org: Org,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-escalation"))  # the admin's own IdP
    made = org.admin.post(
        f"/orgs/{org.org_id}/sso-connections",
        json={"kind": "saml", "idp_metadata_xml": idp.metadata_xml(), "groups_claim": "groups"},
    )
    assert made.status_code == 201, made.text
    connection = made.json()
    idp.trust(httpx.get(connection["metadata_url"], timeout=FIRST_REQUEST_TIMEOUT).text)
    assert (
        root.put(f"/orgs/{org.org_id}/sign-in-domains", json={"domains": [DOMAIN]}).status_code
        == 200
    )

    def assertion(browser: Browser, email: str) -> httpx.Response:
        location = browser.get(f"{connection['login_url']}?next=/dashboard")
        assert location.status_code == 302, location.text
        attributes = {"email": [email], "groups": ["Admins"]}
        xml, _ = idp.answer(location.headers["location"], name_id=email, attributes=attributes)
        return browser.http.post(connection["acs_url"], data=post_form(xml))

    with Browser() as browser:
        refused(assertion(browser, OWNER_EMAIL), "outranks_connection")
        assert browser.http.get(f"{gateway.base_url}/admin/v1/me").status_code == 401
    failures_of(root, connection["id"], "outranks_connection")
    with Browser() as browser:  # someone new still signs in through it
        done = assertion(browser, f"sam@{DOMAIN}")
        assert done.status_code == 303, done.text
        assert browser.http.get(f"{gateway.base_url}/admin/v1/me").json()["roles"] == ["member"]


def test_linking_follows_the_org_s_domains_and_roles_are_capped_by_the_maker_now(
    gateway: GatewayProcess, root: httpx.Client, peer: OidcPeer, org: Org
) -> None:
    dana = root.post(
        "/users", json={"org_id": org.org_id, "email": f"dana@{DOMAIN}", "role": "member"}
    )
    assert dana.status_code == 201, dana.text
    made = org.admin.post(
        f"/orgs/{org.org_id}/sso-connections",
        json=oidc_body(peer, role_map={"admins": {"role": "admin"}}),
    )
    assert made.status_code == 201, made.text
    connection = made.json()
    login_url = connection["login_url"]

    def me(browser: Browser) -> dict[str, Any]:
        answer = browser.http.get(f"{gateway.base_url}/admin/v1/me")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    with Browser() as browser:
        refused(sign_in(browser, gateway, login_url, "dana"), "not_linkable")
    assert (
        root.put(f"/orgs/{org.org_id}/sign-in-domains", json={"domains": [DOMAIN]}).status_code
        == 200
    )
    with Browser() as browser:
        assert sign_in(browser, gateway, login_url, "dana").status_code == 303
        assert me(browser)["user_id"] == dana.json()["id"]
    with Browser() as browser:  # a new person, in a group the admin's connection may grant
        assert sign_in(browser, gateway, login_url, "newbie").status_code == 303
        newbie = me(browser)
        assert newbie["roles"] == ["admin"]
    links = {
        row["target"]: row["data"]["basis"]
        for row in audited(
            root,
            "sso.link",
            lambda row: row["actor"] == f"sso:{connection['id']}",
        )
    }
    assert links.get(f"user:{dana.json()['id']}") == "domain"
    assert links.get(f"user:{newbie['user_id']}") == "created"

    # the admin who made the connection is demoted: it grants no more than a member's role now
    assert root.patch(f"/users/{org.admin_id}", json={"role": "member"}).status_code == 200
    with Browser() as browser:
        assert sign_in(browser, gateway, login_url, "fresh").status_code == 303
        fresh = me(browser)
        assert fresh["roles"] == ["member"]
    capped = audited(
        root, "sso.role_capped", lambda row: row["target"] == f"user:{fresh['user_id']}"
    )
    assert capped[0]["data"] | {"org_id": None} == {
        "org_id": None,
        "wanted": "admin",
        "granted": "member",
        "reach": "member",
    }
    with Browser() as browser:  # an admin it signed in before now outranks it
        refused(sign_in(browser, gateway, login_url, "newbie"), "outranks_connection")

    # and once they leave, it signs in no one until an owner or admin sets it again
    assert root.patch(f"/users/{org.admin_id}", json={"active": False}).status_code == 200
    with Browser() as browser:
        refused(sign_in(browser, gateway, login_url, "later"), "connection_unowned")
    failures_of(root, connection["id"], "connection_unowned")
    taken_over = root.patch(f"/sso-connections/{connection['id']}", json={})
    assert taken_over.status_code == 200, taken_over.text
    assert taken_over.json()["set_by"] == "admin"
    with Browser() as browser:
        assert sign_in(browser, gateway, login_url, "later").status_code == 303


def test_only_an_owner_declares_the_org_s_sign_in_domains(root: httpx.Client, org: Org) -> None:
    path = f"/orgs/{org.org_id}/sign-in-domains"
    forbidden(org.admin.put(path, json={"domains": ["evil.test"]}))
    bad = root.put(path, json={"domains": ["*.acme.test"]})
    assert bad.status_code == 400, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    done = root.put(path, json={"domains": ["Acme.TEST", "acme.test", "corp.acme.test"]})
    assert done.json() == {"org_id": org.org_id, "domains": ["acme.test", "corp.acme.test"]}
    assert org.admin.get(path).json()["domains"] == ["acme.test", "corp.acme.test"]
    rows = audited(root, "org.sign_in_domains", lambda row: row["target"] == f"org:{org.org_id}")
    assert rows[0]["data"] == {"domains": ["acme.test", "corp.acme.test"]}
