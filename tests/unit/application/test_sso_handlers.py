"""SSO connections, sign-in domains and sign-ins through the whole bus, over the in-memory unit
of work."""

from __future__ import annotations

from typing import Any

import pytest

from application.teams.commands import CreateOrg
from application.teams.directory_commands import ProvisionUser
from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSignInDomains,
    DeclareSsoConnection,
    DeleteSsoConnection,
    SignInWithSso,
)
from application.teams.sso_sign_in import SignInRefused
from application.teams.user_commands import ChangeUser, CreateUser
from domains.shared.errors import Forbidden, InvalidValue, NotFound
from domains.teams.directory import Entry
from domains.teams.events import (
    GroupCreated,
    OrgSignInDomainsSet,
    SignedIn,
    SsoConnectionChanged,
    SsoConnectionCreated,
    SsoConnectionDeleted,
    SsoIdentityLinked,
    SsoRoleCapped,
    TeamCreated,
    UserCreated,
)
from domains.teams.model import Org
from domains.teams.sso import Identity, SsoConnection
from tests.unit.application.bus_harness import Bus

TESTED = {
    CreateSsoConnection,
    ChangeSsoConnection,
    DeleteSsoConnection,
    DeclareSsoConnection,
    SignInWithSso,
    DeclareSignInDomains,
}

OIDC: dict[str, Any] = {
    "issuer": "https://idp.example",
    "client_id": "fluxrouter",
    "client_secret_sealed": "sealed-secret",
}


@pytest.fixture
def h() -> Bus:
    return Bus()


async def an_org(h: Bus) -> Org:
    org: Org = await h.quietly(CreateOrg(name="Acme", actor="admin"))
    return org


async def a_connection(h: Bus, org: Org, **settings: Any) -> SsoConnection:
    connection: SsoConnection = await h.quietly(
        CreateSsoConnection(
            org_id=org.id,
            kind="oidc",
            settings={**OIDC, **settings},
            actor="admin",
            actor_role="owner",
        )
    )
    return connection


def sign_in(connection: SsoConnection, **identity: Any) -> SignInWithSso:
    return SignInWithSso(
        connection_id=connection.id,
        identity=Identity(**{"subject": "sub-1", **identity}),
        source_ip="203.0.113.7",
    )


async def test_create_sso_connection_stores_it_without_its_secret_in_the_event(h: Bus) -> None:
    org = await an_org(h)
    connection = await h.handle(
        CreateSsoConnection(
            org_id=org.id, kind="oidc", settings=OIDC, actor="admin", actor_role="owner"
        )
    )
    assert h.store.sso_connections[connection.id].issuer == "https://idp.example"
    created = h.only(SsoConnectionCreated)
    assert created.connection_id == connection.id
    assert "sealed-secret" not in repr(created)


async def test_a_connection_granting_more_than_its_maker_may_is_forbidden(h: Bus) -> None:
    org = await an_org(h)
    with pytest.raises(Forbidden):
        await h.handle(
            CreateSsoConnection(
                org_id=org.id,
                kind="oidc",
                settings={**OIDC, "default_role": "admin"},
                actor="user:u1",
                actor_role="member",
            )
        )
    assert h.store.sso_connections == {}
    assert h.events == []


async def test_change_sso_connection_applies_the_settings_given(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    await h.handle(
        ChangeSsoConnection(
            connection_id=connection.id,
            settings={"client_id": "other"},
            actor="admin",
            actor_role="owner",
        )
    )
    assert h.store.sso_connections[connection.id].client_id == "other"
    assert "client_id" in h.only(SsoConnectionChanged).changed


async def test_changing_an_unknown_connection_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="SSO connection nope not found"):
        await h.handle(
            ChangeSsoConnection(connection_id="nope", settings={}, actor="a", actor_role="owner")
        )


async def test_delete_sso_connection_removes_it_and_its_linked_identities(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    await h.quietly(sign_in(connection, email="ann@acme.test"))
    assert len(h.store.sso_identities) == 1
    await h.handle(DeleteSsoConnection(connection_id=connection.id, actor="admin"))
    assert h.store.sso_connections == {}
    assert h.store.sso_identities == {}
    assert h.only(SsoConnectionDeleted).connection_id == connection.id


async def test_deleting_an_unknown_connection_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound):
        await h.handle(DeleteSsoConnection(connection_id="nope", actor="admin"))


async def test_declare_sso_connection_creates_it_then_makes_it_what_the_file_says(h: Bus) -> None:
    org = await an_org(h)
    declare = DeclareSsoConnection(connection_id="corp", org_id=org.id, kind="oidc", settings=OIDC)
    connection = await h.handle(declare)
    assert connection.declared
    assert h.store.sso_connections["corp"].set_by == "config"
    assert h.only(SsoConnectionCreated).actor == "config"
    h.events.clear()
    await h.handle(
        DeclareSsoConnection(
            connection_id="corp",
            org_id=org.id,
            kind="oidc",
            settings={**OIDC, "client_id": "renamed"},
        )
    )
    assert h.store.sso_connections["corp"].client_id == "renamed"
    assert h.only(SsoConnectionChanged).actor == "config"


async def test_declaring_a_connection_of_another_kind_is_invalid(h: Bus) -> None:
    org = await an_org(h)
    await h.quietly(
        DeclareSsoConnection(connection_id="corp", org_id=org.id, kind="oidc", settings=OIDC)
    )
    with pytest.raises(InvalidValue, match="another org or kind"):
        await h.handle(
            DeclareSsoConnection(
                connection_id="corp",
                org_id=org.id,
                kind="saml",
                settings={"idp_metadata_xml": "<x/>", "idp_entity_id": "e"},
            )
        )
    assert h.store.sso_connections["corp"].kind == "oidc"


async def test_declare_sign_in_domains_sets_them_on_the_org(h: Bus) -> None:
    org = await an_org(h)
    await h.handle(DeclareSignInDomains(org_id=org.id, domains=("acme.test",), actor="admin"))
    assert h.store.orgs[org.id].sign_in_domains == ("acme.test",)
    assert h.only(OrgSignInDomainsSet).domains == ("acme.test",)
    h.events.clear()
    await h.handle(DeclareSignInDomains(org_id=org.id, domains=("acme.test",), actor="admin"))
    assert h.events == []  # the same domains again change nothing


async def test_sign_in_domains_of_an_unknown_org_are_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="org nope not found"):
        await h.handle(DeclareSignInDomains(org_id="nope", domains=("a.test",), actor="admin"))


async def test_a_first_sign_in_creates_and_links_the_person(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    user = await h.handle(sign_in(connection, email="ann@acme.test", display_name="Ann"))
    assert h.store.users[user.id].email == "ann@acme.test"
    assert h.store.sso_identities == {(connection.id, "sub-1"): user.id}
    assert h.only(UserCreated).actor == f"sso:{connection.id}"
    assert h.only(SsoIdentityLinked).basis == "created"
    signed_in = h.only(SignedIn)
    assert (signed_in.provisioned, signed_in.source_ip) == (True, "203.0.113.7")


async def test_a_second_sign_in_finds_the_linked_person(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    first = await h.quietly(sign_in(connection, email="ann@acme.test"))
    again = await h.handle(sign_in(connection, email="ann@acme.test"))
    assert again.id == first.id
    assert len(h.store.users) == 1
    assert h.kinds() == ["SignedIn"]
    assert h.only(SignedIn).provisioned is False


async def test_a_sign_in_links_someone_the_directory_provisioned(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    ann = await h.quietly(
        ProvisionUser(
            org_id=org.id, entry=Entry(user_name="ann"), role="member", actor="scim", reach="admin"
        )
    )
    user = await h.handle(sign_in(connection, user_name="ANN"))
    assert user.id == ann.id
    assert h.only(SsoIdentityLinked).basis == "scim"


async def test_a_sign_in_without_an_address_of_someone_unknown_is_refused(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(h, org)
    with pytest.raises(SignInRefused) as refused:
        await h.handle(sign_in(connection))
    assert refused.value.reason == "no_email"
    assert h.store.users == {}
    assert h.events == []


async def test_mapped_groups_are_created_with_their_team_and_grant_their_role(h: Bus) -> None:
    org = await an_org(h)
    connection = await a_connection(
        h, org, role_map={"eng": {"team": "Engineering", "role": "admin"}}
    )
    user = await h.handle(sign_in(connection, email="ann@acme.test", groups=("eng",)))
    [group] = h.store.groups.values()
    [team] = h.store.teams.values()
    assert (group.display_name, group.team_id, group.members) == (
        "eng",
        team.id,
        {user.id: "ann@acme.test"},
    )
    assert h.store.users[user.id].role == "admin"
    assert h.only(TeamCreated).team_id == team.id
    assert h.only(GroupCreated).group_id == group.id
    assert not any(isinstance(e, SsoRoleCapped) for e in h.events)  # within its reach


async def test_a_role_above_the_setters_current_role_is_capped_and_told(h: Bus) -> None:
    org = await an_org(h)
    ann = await h.quietly(CreateUser(org_id=org.id, email="ann@acme.test", role="admin", actor="a"))
    connection = await h.quietly(
        CreateSsoConnection(
            org_id=org.id,
            kind="oidc",
            settings={**OIDC, "role_map": {"eng": {"role": "admin"}}},
            actor=f"user:{ann.id}",
            actor_role="admin",
        )
    )
    await h.quietly(ChangeUser(user_id=ann.id, actor="admin", role="member"))
    bob = await h.handle(sign_in(connection, email="bob@acme.test", groups=("eng",)))
    assert h.store.users[bob.id].role == "member"
    capped = h.only(SsoRoleCapped)
    assert (capped.user_id, capped.wanted, capped.granted) == (bob.id, "admin", "member")
