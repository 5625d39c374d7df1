"""SSO connections: what each kind needs, the role map, what is audited (never the secret)."""

from __future__ import annotations

import pytest

from application.audit.formatting import audit_facts
from domains.shared.errors import Forbidden, InvalidValue
from domains.teams.events import SsoConnectionChanged, SsoConnectionCreated, SsoConnectionDeleted
from domains.teams.model import Org
from domains.teams.sso import GroupGrant, SsoConnection, role_map_of

SEALED = "v1.sealed-client-secret"


@pytest.fixture
def org() -> Org:
    return Org.create("Acme", actor="admin")


def oidc(org: Org, **settings: object) -> SsoConnection:
    given: dict[str, object] = {
        "issuer": "https://idp.example",
        "client_id": "client",
        "client_secret_sealed": SEALED,
    } | settings
    return SsoConnection.create(org, "oidc", actor="admin", actor_role="owner", **given)


def test_an_oidc_connection_is_created_with_its_public_settings_audited(org: Org) -> None:
    made = oidc(org, role_map={"Eng": {"team": "eng"}, "Admins": {"role": "admin"}})
    (event,) = made.pull_events()
    assert isinstance(event, SsoConnectionCreated)
    facts = audit_facts(event)
    assert facts.action == "sso_connection.create"
    assert facts.data["issuer"] == "https://idp.example"
    assert facts.data["role_map"] == {"Eng": {"team": "eng"}, "Admins": {"role": "admin"}}
    assert SEALED not in str(facts)
    assert made.scopes == ("openid", "email", "profile")


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("oidc", {"issuer": "https://x", "client_id": "c"}, "client_secret"),
        ("oidc", {"client_id": "c", "client_secret_sealed": SEALED}, "issuer"),
        ("saml", {}, "idp_metadata_xml"),
        ("saml", {"issuer": "https://x"}, "not a setting"),
        ("ldap", {}, "oidc or saml"),
    ],
)
def test_each_kind_needs_its_settings(
    org: Org, kind: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        SsoConnection.create(org, kind, actor="admin", actor_role="owner", **settings)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"g": {}}, "must name"),
        ({"g": {"role": "root"}}, "role"),
        ({"g": {"team": "  "}}, "team name"),
        ({"g": {"team": "t", "extra": 1}}, "only"),
        ({" ": {"team": "t"}}, "group names"),
    ],
)
def test_a_bad_role_map_is_refused(raw: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        role_map_of(raw)


def test_scopes_must_ask_for_openid(org: Org) -> None:
    with pytest.raises(InvalidValue, match="openid"):
        oidc(org, scopes=("email",))


def test_groups_match_the_role_map_case_insensitively(org: Org) -> None:
    made = oidc(org, role_map={"FluxRouter-Admins": {"role": "admin"}, "eng": {"team": "eng"}})
    assert made.grants_for(("fluxrouter-admins", "Sales")) == {
        "FluxRouter-Admins": GroupGrant(role="admin")
    }


def test_a_change_names_a_new_secret_without_showing_it(org: Org) -> None:
    made = oidc(org)
    made.pull_events()
    assert not made.change(actor="admin", actor_role="owner", client_id="client")
    assert made.change(
        actor="admin", actor_role="owner", client_secret_sealed="v1.other", scopes=["openid"]
    )
    (event,) = made.pull_events()
    assert isinstance(event, SsoConnectionChanged)
    assert event.changed == ("client_secret", "scopes")
    assert "v1.other" not in str(audit_facts(event))
    made.delete(actor="admin")
    (gone,) = made.pull_events()
    assert isinstance(gone, SsoConnectionDeleted)
    assert audit_facts(gone).target == f"sso_connection:{made.id}"


@pytest.mark.parametrize(
    "issuer",
    [
        "ftp://idp.example",
        "https://",
        "idp.example",
        "https://x/?a=1",
        "https://x/?",
        "https://x#",
        "https://x/#f",
        "https://good@idp.example",
        "https://idp.example:99999",
        "https://idp.example/ x",
    ],
)
def test_an_issuer_is_an_http_url_without_query_fragment_or_credentials(
    org: Org, issuer: str
) -> None:
    """Whether an http issuer, or an internal one, may be fetched is the outbound guard's to
    say (https and a public address unless the operator allows the host)."""
    with pytest.raises(InvalidValue, match="issuer"):
        oidc(org, issuer=issuer)


def test_a_loopback_issuer_may_be_plain_http(org: Org) -> None:
    assert oidc(org, issuer="http://127.0.0.1:9000").issuer == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    "settings",
    [{"default_role": "owner"}, {"role_map": {"Leads": {"role": "owner"}}}],
)
def test_an_admin_makes_no_connection_that_grants_owner(
    org: Org, settings: dict[str, object]
) -> None:
    given = {"issuer": "https://idp.example", "client_id": "c", "client_secret_sealed": SEALED}
    with pytest.raises(Forbidden, match="grants no role above its maker's"):
        SsoConnection.create(org, "oidc", actor="user:u-1", actor_role="admin", **given, **settings)


def test_a_change_stands_on_the_changer_s_authority(org: Org) -> None:
    made = oidc(org, role_map={"Leads": {"role": "owner"}})
    assert (made.set_by, made.set_by_role) == ("admin", "owner")
    made.pull_events()
    with pytest.raises(Forbidden):  # an admin may not touch a connection that grants owner
        made.change(actor="user:u-1", actor_role="admin", client_id="other")
    made = oidc(org, role_map={"Eng": {"role": "admin"}})
    made.pull_events()
    assert made.change(actor="user:u-1", actor_role="admin")  # nothing but whose it is
    (event,) = made.pull_events()
    assert isinstance(event, SsoConnectionChanged)
    assert sorted(event.changed) == ["set_by", "set_by_role"]
    assert (made.set_by, made.set_by_role) == ("user:u-1", "admin")
    assert audit_facts(event).data["set_by"] == "user:u-1"
