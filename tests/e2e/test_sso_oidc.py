"""Signing in to the dashboard with OpenID Connect, against the npm `oidc-provider` on loopback:
a scripted browser logs in and consents at the provider, returns through the gateway's callback
and calls the admin API with its session cookie. Then every attack the flow must refuse."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa

from tests.support.browser import Browser
from tests.support.gateway import GatewayProcess
from tests.support.oidc_peer import OidcPeer
from tests.support.tenants import create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice": {
        "email": "alice@acme.test",
        "email_verified": True,
        "name": "Alice Admin",
        "groups": ["eng", "FluxRouter-Admins"],
    },
    "bob": {"email": "bob@acme.test", "email_verified": True, "name": "Bob", "groups": ["eng"]},
    "carol": {"email": "carol@acme.test", "email_verified": True, "groups": []},
    "dave": {"email": "dave@acme.test", "email_verified": True, "groups": []},
    "erin": {"email": "erin@acme.test", "email_verified": True, "groups": ["eng"]},
    "mallory": {"email": "alice@acme.test", "email_verified": False, "groups": []},
}


@dataclass(frozen=True)
class Setup:
    org_id: str
    connection: dict[str, Any]
    peer: OidcPeer

    @property
    def login_url(self) -> str:
        return str(self.connection["login_url"])


@pytest.fixture(scope="module")
def setup(root: httpx.Client, peer: OidcPeer) -> Setup:
    tenant = create_tenant(root, "sso-oidc")
    made = root.post(
        f"/orgs/{tenant.org_id}/sso-connections",
        json={
            "kind": "oidc",
            "issuer": peer.issuer,
            "client_id": peer.client_id,
            "client_secret": peer.client_secret,
            "scopes": ["openid", "email", "profile", "groups"],
            "groups_claim": "groups",
            "role_map": {
                "eng": {"team": "Engineering"},
                "fluxrouter-admins": {"role": "admin"},
            },
        },
    )
    assert made.status_code == 201, made.text
    return Setup(tenant.org_id, made.json(), peer)


def start(browser: Browser, setup: Setup, next_path: str = "/dashboard") -> httpx.Response:
    """The gateway's answer to the login link: a redirect to the provider."""
    answer = browser.get(f"{setup.login_url}?{urlencode({'next': next_path})}")
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(setup.peer.issuer)
    return answer


def at_provider(
    browser: Browser, gateway: GatewayProcess, to_provider: httpx.Response, login: str
) -> str:
    """Logs in and consents at the provider; the callback URL it sends the browser to."""
    page = browser.follow(to_provider, until=gateway.base_url)
    if page.is_redirect:  # signed in at the provider already
        return str(page.headers["location"])
    assert 'name="login"' in page.text, page.text[:300]
    page = browser.follow(browser.submit(page, {"login": login, "password": "any"}))
    if 'name="prompt" value="consent"' in page.text:
        page = browser.submit(page, {})
    back = browser.follow(page, until=gateway.base_url)
    assert back.is_redirect, back.text[:500]
    return str(back.headers["location"])


def sign_in(browser: Browser, gateway: GatewayProcess, setup: Setup, login: str) -> httpx.Response:
    callback = at_provider(browser, gateway, start(browser, setup), login)
    return browser.get(callback)


def me(browser: Browser, gateway: GatewayProcess) -> httpx.Response:
    return browser.http.get(f"{gateway.base_url}/admin/v1/me")


def refused(answer: httpx.Response, code: str, status: int = 400) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.text
    assert "fluxrouter_session" not in answer.headers.get("set-cookie", "")


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def audit_rows(root: httpx.Client, action: str) -> list[dict[str, Any]]:
    return list(root.get("/audit", params={"action": action, "limit": 1000}).json()["rows"])


def test_a_person_signs_in_is_provisioned_and_reads_who_they_are(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        done = sign_in(browser, gateway, setup, "alice")
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/dashboard"
        cookies = done.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("fluxrouter_session="))
        assert "HttpOnly" in session
        assert "SameSite=lax" in session or "SameSite=Lax" in session
        assert "Secure" not in session  # plain HTTP on loopback
        csrf = next(c for c in cookies if c.startswith("fluxrouter_csrf="))
        assert "HttpOnly" not in csrf
        who = me(browser, gateway)
        assert who.status_code == 200, who.text
        body = who.json()
        assert body["email"] == "alice@acme.test"
        assert body["org_id"] == setup.org_id
        assert body["roles"] == ["admin"]  # FluxRouter-Admins, matched case-insensitively
        assert [team["name"] for team in body["teams"]] == ["Engineering"]
        first_id = body["user_id"]
    with Browser() as again:
        assert sign_in(again, gateway, setup, "alice").status_code == 303
        assert me(again, gateway).json()["user_id"] == first_id
    users = root.get("/users", params={"org_id": setup.org_id}).json()
    assert [u["email"] for u in users].count("alice@acme.test") == 1

    def sign_ins() -> list[dict[str, Any]]:
        return [r for r in audit_rows(root, "sso.sign_in") if r["actor"] == f"user:{first_id}"]

    rows = eventually(lambda: len(sign_ins()) >= 2 and sign_ins())
    assert sorted(row["data"]["provisioned"] for row in rows) == [False, True]
    assert {row["data"]["subject"] for row in rows} == {"alice"}


def test_roles_are_enforced_and_changes_need_the_csrf_token(
    gateway: GatewayProcess, setup: Setup
) -> None:
    admin_url = f"{gateway.base_url}/admin/v1"
    with Browser() as alice, Browser() as bob:
        assert sign_in(alice, gateway, setup, "alice").status_code == 303
        assert sign_in(bob, gateway, setup, "bob").status_code == 303
        token = alice.http.cookies["fluxrouter_csrf"]
        team = {"org_id": setup.org_id, "name": "made-by-session-" + secrets.token_hex(3)}
        refused(alice.http.post(f"{admin_url}/teams", json=team), "csrf", 403)
        wrong = {"x-csrf-token": ("y" if token.startswith("x") else "x") + token[1:]}
        refused(alice.http.post(f"{admin_url}/teams", json=team, headers=wrong), "csrf", 403)
        evil = {"x-csrf-token": token, "origin": "https://evil.test"}
        refused(alice.http.post(f"{admin_url}/teams", json=team, headers=evil), "csrf", 403)
        mine = {"x-csrf-token": token, "origin": gateway.base_url}
        made = alice.http.post(f"{admin_url}/teams", json=team, headers=mine)
        assert made.status_code == 201, made.text
        # bob is a member: reads, but creates no team, with or without the token
        assert bob.http.get(f"{admin_url}/teams").status_code == 200
        headers = {"x-csrf-token": bob.http.cookies["fluxrouter_csrf"]}
        refused(bob.http.post(f"{admin_url}/teams", json=team, headers=headers), "forbidden", 403)
        assert bob.http.get(f"{admin_url}/audit").status_code == 403
        # another person's CSRF token is no good
        refused(alice.http.post(f"{admin_url}/teams", json=team, headers=headers), "csrf", 403)


def test_signing_out_ends_the_session_everywhere(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        assert sign_in(browser, gateway, setup, "bob").status_code == 303
        user_id = me(browser, gateway).json()["user_id"]
        stolen = browser.http.cookies["fluxrouter_session"]
        refused(browser.http.post(f"{gateway.base_url}/auth/logout"), "csrf", 403)
        token = browser.http.cookies["fluxrouter_csrf"]
        out = browser.http.post(f"{gateway.base_url}/auth/logout", headers={"x-csrf-token": token})
        assert out.status_code == 200, out.text
        assert "fluxrouter_session" not in browser.http.cookies  # cleared
        refused(me(browser, gateway), "missing_credentials", 401)
    replayed = httpx.get(f"{gateway.base_url}/admin/v1/me", cookies={"fluxrouter_session": stolen})
    refused(replayed, "invalid_session", 401)
    eventually(
        lambda: any(r["actor"] == f"user:{user_id}" for r in audit_rows(root, "sso.sign_out"))
    )


def test_deactivation_ends_sessions_at_once_and_refuses_sign_in(
    gateway: GatewayProcess, every_replica: list[GatewayProcess], root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        assert sign_in(browser, gateway, setup, "dave").status_code == 303
        user_id = me(browser, gateway).json()["user_id"]
        session = browser.http.cookies["fluxrouter_session"]
        for process in every_replica:
            known = httpx.get(
                f"{process.base_url}/admin/v1/me", cookies={"fluxrouter_session": session}
            )
            assert known.status_code == 200, known.text
        assert root.patch(f"/users/{user_id}", json={"active": False}).status_code == 200
        refused(me(browser, gateway), "invalid_session", 401)
        for process in every_replica:
            again = httpx.get(
                f"{process.base_url}/admin/v1/me", cookies={"fluxrouter_session": session}
            )
            refused(again, "invalid_session", 401)
    with Browser() as browser:
        refused(sign_in(browser, gateway, setup, "dave"), "user_inactive", 403)
    assert root.patch(f"/users/{user_id}", json={"active": True}).status_code == 200
    # the session ended for good: reactivation does not bring it back
    back = httpx.get(f"{gateway.base_url}/admin/v1/me", cookies={"fluxrouter_session": session})
    refused(back, "invalid_session", 401)


def test_a_person_provisioned_by_scim_is_matched_not_duplicated(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    token = root.post(f"/orgs/{setup.org_id}/scim-tokens", json={}).json()["token"]
    provisioned = httpx.post(
        f"{gateway.base_url}/scim/v2/Users",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Carol@Acme.test",
            "externalId": "okta-carol",
            "emails": [{"value": "carol@acme.test", "primary": True}],
            "active": True,
        },
        timeout=10,
    )
    assert provisioned.status_code == 201, provisioned.text
    with Browser() as browser:
        assert sign_in(browser, gateway, setup, "carol").status_code == 303
        assert me(browser, gateway).json()["user_id"] == provisioned.json()["id"]
        # the directory deactivates her: the session ends at once
        off = httpx.patch(
            f"{gateway.base_url}/scim/v2/Users/{provisioned.json()['id']}",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            },
            timeout=10,
        )
        assert off.status_code == 200, off.text
        refused(me(browser, gateway), "invalid_session", 401)
    emails = [u["email"] for u in root.get("/users", params={"org_id": setup.org_id}).json()]
    assert emails.count("carol@acme.test") == 1


def test_an_unverified_address_matches_no_one(gateway: GatewayProcess, setup: Setup) -> None:
    with Browser() as browser:
        refused(sign_in(browser, gateway, setup, "mallory"), "no_email", 403)


def test_a_tampered_state_is_refused(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        callback = at_provider(browser, gateway, start(browser, setup), "alice")
        state = parse_qs(urlsplit(callback).query)["state"][0]
        refused(browser.get(with_query(callback, state=state[:-2] + "xx")), "bad_state")
        refused(browser.get(with_query(callback, state="")), "bad_state")

    def failures() -> list[dict[str, Any]]:
        return [
            r for r in audit_rows(root, "sso.sign_in_failed") if r["data"]["reason"] == "bad_state"
        ]

    rows = eventually(failures)
    assert rows[0]["actor"].startswith("ip:")
    assert state not in str(rows)


def test_a_replayed_authorization_response_is_refused(
    gateway: GatewayProcess, setup: Setup
) -> None:
    with Browser() as browser:
        callback = at_provider(browser, gateway, start(browser, setup), "alice")
        assert browser.get(callback).status_code == 303
        refused(browser.get(callback), "bad_state")


def test_a_replayed_authorization_code_is_refused(gateway: GatewayProcess, setup: Setup) -> None:
    with Browser() as browser:
        callback = at_provider(browser, gateway, start(browser, setup), "alice")
        code = parse_qs(urlsplit(callback).query)["code"][0]
        assert browser.get(callback).status_code == 303
        # a fresh sign-in (new state, new verifier) handed the code already used
        fresh = at_provider(browser, gateway, start(browser, setup), "alice")
        refused(browser.get(with_query(fresh, code=code)), "code_refused")


def test_a_response_for_another_browser_is_refused(gateway: GatewayProcess, setup: Setup) -> None:
    with Browser() as victim, Browser() as attacker:
        callback = at_provider(attacker, gateway, start(attacker, setup), "alice")
        refused(victim.get(callback), "browser_mismatch")


def test_a_wrong_nonce_is_refused(gateway: GatewayProcess, setup: Setup) -> None:
    with Browser() as browser:
        to_provider = start(browser, setup)
        forged = with_query(to_provider.headers["location"], nonce="attacker-chosen-nonce")
        to_provider.headers["location"] = forged
        refused(browser.get(at_provider(browser, gateway, to_provider, "alice")), "bad_nonce")


def test_a_wrong_issuer_is_refused(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        callback = at_provider(browser, gateway, start(browser, setup), "alice")
        refused(browser.get(with_query(callback, iss="https://evil.test")), "wrong_issuer")
    with Browser() as browser:  # the provider says which issuer answers: it may not be dropped
        callback = at_provider(browser, gateway, start(browser, setup), "alice")
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "iss"}
        dropped = urlunsplit(parts._replace(query=urlencode(query)))
        refused(browser.get(dropped), "wrong_issuer")
    other = root.post(
        f"/orgs/{setup.org_id}/sso-connections",
        json={
            "kind": "oidc",
            "issuer": setup.peer.issuer + "/",  # discovery names the issuer without the slash
            "client_id": setup.peer.client_id,
            "client_secret": setup.peer.client_secret,
        },
    )
    assert other.status_code == 400, other.text
    assert other.json()["code"] == "discovery_failed"


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.test/",
        "//evil.test/x",
        "/\\evil.test",
        "\\\\evil.test",
        "https:evil.test",
        "javascript:alert(1)",
        "/ok\r\nLocation: https://evil.test",
        "evil.test",
    ],
)
def test_next_pointing_off_site_is_refused(
    gateway: GatewayProcess, setup: Setup, next_path: str
) -> None:
    answer = httpx.get(setup.login_url, params={"next": next_path}, timeout=10)
    refused(answer, "bad_next")


def test_secrets_stay_out_of_answers_audit_rows_logs_and_the_database(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    secret = setup.peer.client_secret
    with Browser() as browser:
        assert sign_in(browser, gateway, setup, "alice").status_code == 303
        session = browser.http.cookies["fluxrouter_session"]
    assert re.fullmatch(r"frd-[A-Za-z0-9_-]{43}", session)
    seen = [
        root.get(f"/orgs/{setup.org_id}/sso-connections").text,
        root.get(f"/sso-connections/{setup.connection['id']}").text,
        str(setup.connection),
        str(audit_rows(root, "sso_connection.create")),
        str(audit_rows(root, "sso.sign_in")),
        gateway.logs(),
    ]
    text = "\n".join(seen)
    assert "sso_connection.create" in text
    for value in (secret, session, hashlib.sha256(session.encode()).hexdigest()):
        assert value not in text
    engine = sa.create_engine(gateway.database_url)
    try:
        with engine.connect() as conn:
            sealed = conn.execute(
                sa.text("SELECT client_secret_sealed FROM sso_connections WHERE id = :id"),
                {"id": setup.connection["id"]},
            ).fetchone()
            dump = str(conn.execute(sa.text("SELECT * FROM sso_sessions")).fetchall())
    finally:
        engine.dispose()
    assert sealed is not None
    assert sealed[0].startswith("v1.")
    assert secret not in sealed[0]
    assert session not in dump


def test_connections_are_managed_by_owners_and_admins_only(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup, tmp_path: Path
) -> None:
    listed = root.get(f"/orgs/{setup.org_id}/sso-connections")
    assert [c["id"] for c in listed.json()][:1] == [setup.connection["id"]]
    assert setup.connection["redirect_uri"] == f"{gateway.base_url}/auth/oidc/callback"
    assert "client_secret" not in setup.connection
    with Browser() as bob:
        assert sign_in(bob, gateway, setup, "bob").status_code == 303
        answer = bob.http.get(f"{gateway.base_url}/admin/v1/orgs/{setup.org_id}/sso-connections")
        assert answer.status_code == 403
    other = create_tenant(root, "sso-other")
    made = root.post(
        f"/orgs/{other.org_id}/sso-connections",
        json={
            "kind": "oidc",
            "issuer": setup.peer.issuer,
            "client_id": "other",
            "client_secret": "other-secret-value",
        },
    )
    assert made.status_code == 201, made.text
    changed = root.patch(
        f"/sso-connections/{made.json()['id']}",
        json={"client_secret": "rotated-secret-value", "role_map": {"x": {"role": "viewer"}}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role_map"] == {"x": {"role": "viewer"}}
    gone = root.delete(f"/sso-connections/{made.json()['id']}")
    assert gone.json() == {"id": made.json()["id"], "deleted": True}
    assert root.get(f"/sso-connections/{made.json()['id']}").status_code == 404
    rows = audit_rows(root, "sso_connection.change")
    row = next(r for r in rows if r["target"] == f"sso_connection:{made.json()['id']}")
    assert sorted(row["data"]["changed"]) == ["client_secret", "role_map"]
    assert "rotated-secret-value" not in str(rows)
    assert any(
        r["target"] == f"sso_connection:{made.json()['id']}"
        for r in audit_rows(root, "sso_connection.delete")
    )


async def test_a_signed_in_browser_chats_over_the_websocket_on_a_key_of_its_own(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    with Browser() as browser:
        assert sign_in(browser, gateway, setup, "erin").status_code == 303
        who = me(browser, gateway).json()
        session = browser.http.cookies["fluxrouter_session"]
    page = {"Cookie": f"fluxrouter_session={session}", "Origin": gateway.base_url}

    async def refused_on_open(
        headers: dict[str, str], query: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], int]:
        async with chat_socket(
            gateway.base_url, headers=headers, query=query, ready=False
        ) as socket:
            error = await socket.recv()
            return error, await socket.closed_with()

    error, code = await refused_on_open(page)  # erin has no key yet
    assert (error["error"]["code"], error["status"], code) == ("no_personal_key", 403, 4403)

    team_id = who["teams"][0]["id"]
    keys = [
        root.post(
            "/keys", json={"team_id": team_id, "name": f"erin-{n}", "user_id": who["user_id"]}
        )
        for n in (1, 2)
    ]
    assert all(k.status_code == 201 for k in keys), [k.text for k in keys]
    first, second = (k.json()["id"] for k in keys)
    error, code = await refused_on_open(page)  # two keys: which one?
    assert (error["error"]["code"], error["status"], code) == ("key_id_required", 400, 4403)
    error, code = await refused_on_open(page, {"key_id": "key_not_hers"})
    assert (error["error"]["code"], code) == ("unknown_key", 4403)
    evil = {**page, "Origin": "https://evil.test"}  # another site's page, the cookie sent along
    error, code = await refused_on_open(evil, {"key_id": second})
    assert (error["error"]["code"], error["status"], code) == ("cross_origin", 403, 4403)
    forged = {**page, "Cookie": "fluxrouter_session=frd-" + "x" * 43}
    error, code = await refused_on_open(forged, {"key_id": second})
    assert (error["error"]["code"], code) == ("invalid_session", 4401)

    async with chat_socket(gateway.base_url, headers=page, query={"key_id": second}) as socket:
        await socket.send(chat_start("s1", "hello from the dashboard", max_tokens=20))
        done = await socket.until_end_of("s1")
        assert done["type"] == "chat.done", done
        assert root.delete(f"/keys/{second}").status_code == 200
        await socket.send(chat_start("s2", "after the revocation"))
        refused = await socket.until_end_of("s2")
        assert refused["error"]["code"] == "invalid_api_key"
        assert await socket.closed_with() == 4401

    def spent(key_id: str) -> int:
        periods = root.get(f"/keys/{key_id}/spend").json()["periods"]
        return int(next(p for p in periods if p["period"] == "total")["spent_tokens"])

    assert eventually(lambda: spent(second) == done["usage"]["total_tokens"])
    assert spent(first) == 0
    assert not any(session in row for row in map(str, audit_rows(root, "auth.refused")))
