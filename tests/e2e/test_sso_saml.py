"""Signing in to the dashboard with SAML 2.0, against an identity provider made with pysaml2:
the gateway's AuthnRequest goes to the IdP by redirect, the IdP's signed response comes back
by POST to the ACS. Then every forged or replayed answer the ACS must refuse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.browser import Browser
from tests.support.gateway import GatewayProcess
from tests.support.saml_idp import FIRST_REQUEST_TIMEOUT, SamlIdp, post_form
from tests.support.tenants import create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ALICE = {"email": ["alice@saml.test"], "displayName": ["Alice"], "groups": ["Platform", "Admins"]}


@dataclass(frozen=True)
class Setup:
    org_id: str
    connection: dict[str, Any]
    idp: SamlIdp

    @property
    def acs(self) -> str:
        return str(self.connection["acs_url"])


@pytest.fixture(scope="module")
def setup(root: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-idp"))
    tenant = create_tenant(root, "sso-saml")
    made = root.post(
        f"/orgs/{tenant.org_id}/sso-connections",
        json={
            "kind": "saml",
            "idp_metadata_xml": idp.metadata_xml(),
            "groups_claim": "groups",
            "role_map": {"admins": {"role": "admin"}, "platform": {"team": "Platform"}},
        },
    )
    assert made.status_code == 201, made.text
    metadata = httpx.get(made.json()["metadata_url"], timeout=FIRST_REQUEST_TIMEOUT)
    assert metadata.status_code == 200, metadata.text
    idp.trust(metadata.text)
    return Setup(tenant.org_id, made.json(), idp)


def start(browser: Browser, setup: Setup, next_path: str = "/dashboard") -> str:
    """The IdP URL the gateway sends the browser to, carrying its AuthnRequest."""
    answer = browser.get(f"{setup.connection['login_url']}?next={next_path}")
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def post(browser: Browser, setup: Setup, xml: str) -> httpx.Response:
    return browser.http.post(setup.acs, data=post_form(xml))


def answer(browser: Browser, setup: Setup, **changes: Any) -> str:
    location = start(browser, setup)
    kwargs: dict[str, Any] = {"name_id": "alice@saml.test", "attributes": ALICE} | changes
    xml, _ = setup.idp.answer(location, **kwargs)
    return xml


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code in (400, 403), response.text
    assert response.json()["code"] == code, response.text
    assert "fluxrouter_session" not in response.headers.get("set-cookie", "")


def test_a_person_signs_in_with_saml(
    gateway: GatewayProcess, root: httpx.Client, setup: Setup
) -> None:
    assert setup.connection["entity_id"] == setup.connection["metadata_url"]
    assert setup.connection["acs_url"] == f"{setup.connection['metadata_url'][:-9]}/acs"
    with Browser() as browser:
        done = post(browser, setup, answer(browser, setup))
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/dashboard"
        who = browser.http.get(f"{gateway.base_url}/admin/v1/me")
        assert who.status_code == 200, who.text
        body = who.json()
        assert body["email"] == "alice@saml.test"
        assert body["org_id"] == setup.org_id
        assert body["roles"] == ["admin"]
        assert [team["name"] for team in body["teams"]] == ["Platform"]
    rows = eventually(
        lambda: [
            r
            for r in root.get("/audit", params={"action": "sso.sign_in", "limit": 1000}).json()[
                "rows"
            ]
            if r["actor"] == f"user:{body['user_id']}"
        ]
    )
    assert rows[0]["data"]["kind"] == "saml"


def test_an_unsigned_response_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        refused(post(browser, setup, answer(browser, setup, sign_assertion=False)), "unsigned")


def test_a_tampered_attribute_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup, attributes={**ALICE, "groups": ["Users"]})
        forged = xml.replace(">Users<", ">Admins<")
        assert forged != xml
        refused(post(browser, setup, forged), "bad_signature")


def test_a_response_for_another_audience_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup, audience="https://other-sp.example.test/metadata")
        refused(post(browser, setup, xml), "wrong_audience")


def test_a_response_for_another_destination_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        forged = xml.replace(
            f'Destination="{setup.acs}"', 'Destination="https://elsewhere.test/acs"'
        )
        assert forged != xml
        refused(post(browser, setup, forged), "wrong_destination")


def test_an_expired_assertion_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup, lifetime_minutes=-10)
        refused(post(browser, setup, xml), "expired")


def test_a_replayed_response_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        assert post(browser, setup, xml).status_code == 303
    with Browser() as attacker:
        refused(post(attacker, setup, xml), "unsolicited")


def test_an_unsolicited_response_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        request_id = re.search(r'InResponseTo="([^"]+)"', xml)
        assert request_id is not None
        made_up = xml.replace(request_id.group(1), "id-never-asked-for")
        refused(post(browser, setup, setup.idp.sign(made_up)), "unsolicited")
        idp_initiated = re.sub(r'\sInResponseTo="[^"]+"', "", xml)
        refused(post(browser, setup, setup.idp.sign(idp_initiated)), "unsolicited")


def test_an_assertion_without_conditions_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        bare = re.sub(r"<(\w+:)?Conditions\b.*?</\1Conditions>", "", xml, flags=re.S)
        assert bare != xml
        refused(post(browser, setup, setup.idp.sign(bare)), "no_conditions")


def test_a_doctype_is_refused(setup: Setup) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        declaration = '<!DOCTYPE r [<!ENTITY e "alice@saml.test">]>'
        if xml.startswith("<?xml"):
            head, _, rest = xml.partition("?>")
            doctyped = f"{head}?>{declaration}{rest}"
        else:
            doctyped = declaration + xml
        refused(post(browser, setup, doctyped), "doctype")


def _assertion(xml: str) -> str:
    found = re.search(r"<(\w+:)?Assertion\b.*?</\1Assertion>", xml, flags=re.S)
    assert found is not None
    return found.group(0)


def _evil(assertion: str, *, new_id: bool = True) -> str:
    unsigned = re.sub(r"<(\w+:)?Signature\b.*?</\1Signature>", "", assertion, flags=re.S)
    evil = unsigned.replace("alice@saml.test", "ceo@saml.test")
    return re.sub(r'ID="[^"]+"', 'ID="_evil"', evil, count=1) if new_id else evil


@pytest.mark.parametrize(
    "variant",
    ["evil-first", "evil-after", "original-in-extensions", "original-in-signature", "same-id"],
)
def test_wrapped_signatures_are_refused(setup: Setup, variant: str) -> None:
    with Browser() as browser:
        xml = answer(browser, setup)
        signed = _assertion(xml)
        if variant == "evil-first":
            forged = xml.replace(signed, _evil(signed) + signed)
        elif variant == "evil-after":
            forged = xml.replace(signed, signed + _evil(signed))
        elif variant == "original-in-extensions":
            status = re.search(r"<(\w+:)?Status>", xml)
            assert status is not None
            prefix = status.group(1) or ""
            extensions = f"<{prefix}Extensions>{signed}</{prefix}Extensions>"
            forged = xml.replace(signed, _evil(signed)).replace(
                status.group(0), extensions + status.group(0), 1
            )
        elif variant == "original-in-signature":
            evil = _evil(signed, new_id=False)
            issuer_end = re.search(r"</(\w+:)?Issuer>", evil)
            assert issuer_end is not None
            inside = evil.replace(issuer_end.group(0), issuer_end.group(0) + signed, 1)
            forged = xml.replace(signed, inside)
        else:
            forged = xml.replace(signed, _evil(signed, new_id=False) + signed)
        assert forged != xml
        refused(post(browser, setup, forged), "signature_wrapping")


def test_a_comment_injected_name_id_is_never_read_truncated(
    gateway: GatewayProcess, setup: Setup
) -> None:
    with Browser() as browser:  # the victim exists
        assert post(browser, setup, answer(browser, setup)).status_code == 303
    with Browser() as attacker:
        attributes = {"email": ["alice@saml.test.evil.test"], "groups": []}
        xml = answer(attacker, setup, name_id="alice@saml.test.evil.test", attributes=attributes)
        forged = xml.replace(">alice@saml.test.evil.test<", ">alice@saml.test<!---->.evil.test<")
        assert forged != xml
        response = post(attacker, setup, forged)
        refused(response, "xml_comment")
        who = attacker.http.get(f"{gateway.base_url}/admin/v1/me")
        assert who.status_code == 401


def test_sp_metadata_and_login_refuse_what_they_should(
    gateway: GatewayProcess, setup: Setup
) -> None:
    metadata = httpx.get(setup.connection["metadata_url"], timeout=FIRST_REQUEST_TIMEOUT).text
    assert setup.connection["acs_url"] in metadata
    assert "PRIVATE KEY" not in metadata
    off_site = httpx.get(setup.connection["login_url"], params={"next": "//evil.test"}, timeout=10)
    assert off_site.status_code == 400
    assert off_site.json()["code"] == "bad_next"


@pytest.mark.one_shape("sqlite")  # its own gateway, the embedded shape
def test_startup_refuses_a_saml_connection_that_requires_no_signature(
    gateway: GatewayProcess, setup: Setup, tmp_path: Path
) -> None:
    (tmp_path / "idp.xml").write_text(setup.idp.metadata_xml())
    config = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/gw.db"},
        "sso": {
            "connections": [
                {
                    "id": "corp-saml",
                    "org": setup.org_id,
                    "kind": "saml",
                    "idp_metadata_file": str(tmp_path / "idp.xml"),
                    "require_signed_assertions": False,
                }
            ]
        },
    }
    process = GatewayProcess(tmp_path, config, admin_key="fradm-" + "x" * 40)
    result = process.fluxrouter("serve", "--port", "1")
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "sso.connections[0].require_signed_assertions" in message
    assert "unsigned SAML assertions are never accepted" in message


@pytest.mark.one_shape("sqlite")  # its own gateway, the embedded shape
def test_a_connection_declared_in_the_file_signs_people_in_without_redis(
    setup: Setup, tmp_path: Path
) -> None:
    """The embedded shape: SQLite, sessions in the database, the connection from the YAML."""
    config: dict[str, Any] = {"database": {"url": f"sqlite+aiosqlite:///{tmp_path}/gw.db"}}
    process = GatewayProcess(tmp_path, config, admin_key="fradm-" + "y" * 40).start()
    try:
        with process.admin() as admin:
            org = admin.post("/orgs", json={"name": "declared"}).json()["id"]
        process.stop()
        (tmp_path / "idp.xml").write_text(setup.idp.metadata_xml())
        config["sso"] = {
            "connections": [
                {
                    "id": "corp-saml",
                    "org": org,
                    "kind": "saml",
                    "idp_metadata_file": str(tmp_path / "idp.xml"),
                    "role_map": {"Admins": {"role": "owner"}},
                }
            ]
        }
        (tmp_path / "fluxrouter.yaml").write_text(yaml.safe_dump(config))
        process.start()
        with process.admin() as admin:
            (listed,) = admin.get(f"/orgs/{org}/sso-connections").json()
            assert (listed["id"], listed["declared"]) == ("corp-saml", True)
            refused_change = admin.patch(
                "/sso-connections/corp-saml", json={"default_role": "viewer"}
            )
            assert refused_change.status_code == 409
        local = Setup(org, listed, setup.idp)
        local.idp.trust(httpx.get(listed["metadata_url"], timeout=FIRST_REQUEST_TIMEOUT).text)
        with Browser() as browser:
            done = post(browser, local, answer(browser, local))
            assert done.status_code == 303, done.text
            who = browser.http.get(f"{process.base_url}/admin/v1/me")
            assert who.json()["roles"] == ["owner"]
            token = browser.http.cookies["fluxrouter_csrf"]
            out = browser.http.post(
                f"{process.base_url}/auth/logout", headers={"x-csrf-token": token}
            )
            assert out.status_code == 200
        process.restart()  # the connection is declared again, unchanged: no new audit row
        with process.admin() as admin:
            rows = admin.get("/audit", params={"action": "sso_connection.create"}).json()["rows"]
            changes = admin.get("/audit", params={"action": "sso_connection.change"}).json()["rows"]
        assert [row["target"] for row in rows] == ["sso_connection:corp-saml"]
        assert changes == []
        assert "SAMLResponse" not in process.logs()
    finally:
        process.stop()
        metadata_url = setup.connection["metadata_url"]
        setup.idp.trust(httpx.get(metadata_url, timeout=FIRST_REQUEST_TIMEOUT).text)
