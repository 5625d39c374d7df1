"""What an identity provider asks (SCIM), and the SCIM tokens, through the whole bus, over the
in-memory unit of work."""

from __future__ import annotations

import pytest

from application.teams.commands import CreateOrg
from application.teams.directory_commands import (
    ChangeGroup,
    CreateGroup,
    DeleteGroup,
    DeleteProvisionedUser,
    IssueScimToken,
    ProvisionUser,
    RevokeScimToken,
    UpdateProvisionedUser,
)
from domains.shared.errors import Conflict, Forbidden, InvalidValue, NotFound
from domains.teams.directory import Entry, StaleVersion
from domains.teams.events import (
    GroupChanged,
    GroupCreated,
    GroupDeleted,
    GroupMembersChanged,
    ScimTokenIssued,
    ScimTokenRevoked,
    TeamCreated,
    TeamRenamed,
    UserChanged,
    UserCreated,
    UserDeleted,
    UserIdentityChanged,
)
from domains.teams.model import Org, hash_secret
from domains.teams.users import User
from tests.unit.application.bus_harness import Bus

TESTED = {
    ProvisionUser,
    UpdateProvisionedUser,
    DeleteProvisionedUser,
    CreateGroup,
    ChangeGroup,
    DeleteGroup,
    IssueScimToken,
    RevokeScimToken,
}

SCIM = "scim:t1"


@pytest.fixture
def h() -> Bus:
    return Bus()


async def an_org(h: Bus) -> Org:
    org: Org = await h.quietly(CreateOrg(name="Acme", actor="admin"))
    return org


async def provisioned(h: Bus, org: Org, name: str = "ann", role: str = "member") -> User:
    user: User = await h.quietly(
        ProvisionUser(
            org_id=org.id,
            entry=Entry(user_name=name, email=f"{name}@acme.test"),
            role=role,
            actor=SCIM,
            reach="admin",
        )
    )
    return user


async def test_provision_user_creates_the_person(h: Bus) -> None:
    org = await an_org(h)
    user = await h.handle(
        ProvisionUser(
            org_id=org.id,
            entry=Entry(user_name="ann", email="ann@acme.test", external_id="x1"),
            role="member",
            actor=SCIM,
            reach="admin",
        )
    )
    stored = h.store.users[user.id]
    assert (stored.user_name, stored.email, stored.external_id) == ("ann", "ann@acme.test", "x1")
    created = h.only(UserCreated)
    assert (created.user_id, created.user_name, created.actor) == (user.id, "ann", SCIM)


async def test_a_token_provisions_no_one_above_its_role(h: Bus) -> None:
    org = await an_org(h)
    with pytest.raises(Forbidden):
        await h.handle(
            ProvisionUser(
                org_id=org.id, entry=Entry(user_name="x"), role="owner", actor=SCIM, reach="admin"
            )
        )
    assert h.store.users == {}
    assert h.events == []


async def test_a_login_name_already_in_the_org_conflicts(h: Bus) -> None:
    org = await an_org(h)
    await provisioned(h, org)
    with pytest.raises(Conflict):
        await provisioned(h, org)
    assert len(h.store.users) == 1


async def test_update_provisioned_user_makes_them_what_the_directory_says(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    await h.handle(
        UpdateProvisionedUser(
            org_id=org.id,
            user_id=ann.id,
            entry=Entry(user_name="ann", email="ann@new.test", active=False),
            actor=SCIM,
            reach="admin",
        )
    )
    stored = h.store.users[ann.id]
    assert (stored.email, stored.active) == ("ann@new.test", False)
    assert h.only(UserIdentityChanged).email == "ann@new.test"
    assert h.only(UserChanged).active is False


async def test_an_update_from_a_stale_version_is_refused(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    with pytest.raises(StaleVersion):
        await h.handle(
            UpdateProvisionedUser(
                org_id=org.id,
                user_id=ann.id,
                entry=Entry(user_name="ann", email="ann@new.test"),
                actor=SCIM,
                reach="admin",
                expected_version=ann.version + 1,
            )
        )
    assert h.store.users[ann.id].email == "ann@acme.test"
    assert h.events == []


async def test_a_person_of_another_org_is_not_found(h: Bus) -> None:
    org = await an_org(h)
    other = await h.quietly(CreateOrg(name="Other", actor="admin"))
    ann = await provisioned(h, org)
    with pytest.raises(NotFound):
        await h.handle(
            UpdateProvisionedUser(
                org_id=other.id,
                user_id=ann.id,
                entry=Entry(user_name="x"),
                actor=SCIM,
                reach="admin",
            )
        )


async def test_delete_provisioned_user_deletes_and_deactivates_them(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    h.store.dashboard_sessions["s1"] = ann.id
    await h.handle(DeleteProvisionedUser(org_id=org.id, user_id=ann.id, actor=SCIM, reach="admin"))
    stored = h.store.users[ann.id]
    assert stored.deleted_at is not None
    assert stored.active is False
    assert h.only(UserDeleted).user_id == ann.id
    assert h.store.dashboard_sessions == {}  # ended by the teams context's subscriber


async def test_a_token_deletes_no_one_who_outranks_it(h: Bus) -> None:
    org = await an_org(h)
    boss = await provisioned(h, org, "boss", role="admin")
    with pytest.raises(Forbidden):
        await h.handle(
            DeleteProvisionedUser(org_id=org.id, user_id=boss.id, actor=SCIM, reach="member")
        )
    assert h.store.users[boss.id].deleted_at is None


async def test_create_group_links_a_new_team_and_its_members(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    group = await h.handle(
        CreateGroup(
            org_id=org.id,
            display_name="Research",
            actor=SCIM,
            reach="admin",
            members=((ann.id, None),),
            team_name="Research",
            follows_team_name=True,
        )
    )
    [team] = h.store.teams.values()
    assert team.name == "Research"
    assert h.store.groups[group.id].team_id == team.id
    assert h.store.groups[group.id].members == {ann.id: None}
    assert h.only(TeamCreated).team_id == team.id
    assert h.only(GroupCreated).team_id == team.id
    assert h.only(GroupMembersChanged).added == (ann.id,)


async def test_a_group_granting_a_role_settles_its_members_roles(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    await h.handle(
        CreateGroup(
            org_id=org.id,
            display_name="Admins",
            actor=SCIM,
            reach="admin",
            members=((ann.id, None),),
            role="admin",
        )
    )
    assert h.store.users[ann.id].role == "admin"
    assert h.only(UserChanged).role == "admin"


async def test_a_group_name_already_in_the_org_conflicts(h: Bus) -> None:
    org = await an_org(h)
    await h.quietly(CreateGroup(org_id=org.id, display_name="Ops", actor=SCIM, reach="admin"))
    with pytest.raises(Conflict):
        await h.handle(CreateGroup(org_id=org.id, display_name="OPS", actor=SCIM, reach="admin"))
    assert len(h.store.groups) == 1
    assert h.events == []


async def test_a_member_who_is_not_in_the_org_is_invalid(h: Bus) -> None:
    org = await an_org(h)
    with pytest.raises(InvalidValue, match="no such user"):
        await h.handle(
            CreateGroup(
                org_id=org.id,
                display_name="Ops",
                actor=SCIM,
                reach="admin",
                members=(("u9", None),),
            )
        )
    assert h.store.groups == {}


async def test_change_group_renames_it_and_the_team_that_follows_it(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    group = await h.quietly(
        CreateGroup(
            org_id=org.id,
            display_name="Research",
            actor=SCIM,
            reach="admin",
            team_name="Research",
            follows_team_name=True,
        )
    )
    await h.handle(
        ChangeGroup(
            org_id=org.id,
            group_id=group.id,
            display_name="Lab",
            external_id=None,
            members=((ann.id, None),),
            actor=SCIM,
            reach="admin",
        )
    )
    stored = h.store.groups[group.id]
    assert (stored.display_name, stored.members) == ("Lab", {ann.id: None})
    assert h.store.teams[stored.team_id or ""].name == "Lab"
    assert h.only(GroupChanged).display_name == "Lab"
    assert h.only(GroupMembersChanged).added == (ann.id,)
    assert h.only(TeamRenamed).name == "Lab"


async def test_changing_a_group_of_another_org_is_not_found(h: Bus) -> None:
    org = await an_org(h)
    with pytest.raises(NotFound, match="group nope not found"):
        await h.handle(
            ChangeGroup(
                org_id=org.id,
                group_id="nope",
                display_name="x",
                external_id=None,
                members=(),
                actor=SCIM,
                reach="admin",
            )
        )


async def test_delete_group_removes_it_and_the_role_it_granted(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    group = await h.quietly(
        CreateGroup(
            org_id=org.id,
            display_name="Admins",
            actor=SCIM,
            reach="admin",
            members=((ann.id, None),),
            role="admin",
        )
    )
    assert h.store.users[ann.id].role == "admin"
    await h.handle(DeleteGroup(org_id=org.id, group_id=group.id, actor=SCIM, reach="admin"))
    assert h.store.groups == {}
    assert h.store.users[ann.id].role == "member"
    assert h.only(GroupDeleted).members == (ann.id,)
    assert h.only(UserChanged).role == "member"


async def test_a_token_empties_no_group_granting_a_role_above_its_own(h: Bus) -> None:
    org = await an_org(h)
    ann = await provisioned(h, org)
    group = await h.quietly(
        CreateGroup(
            org_id=org.id,
            display_name="Admins",
            actor=SCIM,
            reach="admin",
            members=((ann.id, None),),
            role="admin",
        )
    )
    with pytest.raises(Forbidden):
        await h.handle(DeleteGroup(org_id=org.id, group_id=group.id, actor=SCIM, reach="member"))
    assert group.id in h.store.groups
    assert h.events == []


async def test_issue_and_revoke_a_scim_token(h: Bus) -> None:
    org = await an_org(h)
    token, secret = await h.handle(IssueScimToken(org_id=org.id, actor="admin", actor_role="admin"))
    assert h.store.scim_tokens[token.id].secret_hash == hash_secret(secret)
    assert h.only(ScimTokenIssued).role == "admin"
    h.events.clear()
    await h.handle(RevokeScimToken(token_id=token.id, actor="admin"))
    assert h.store.scim_tokens[token.id].revoked_at is not None
    assert h.only(ScimTokenRevoked).token_id == token.id


async def test_scim_tokens_of_unknown_orgs_and_unknown_tokens_are_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="org nope not found"):
        await h.handle(IssueScimToken(org_id="nope", actor="admin", actor_role="admin"))
    with pytest.raises(NotFound, match="SCIM token nope not found"):
        await h.handle(RevokeScimToken(token_id="nope", actor="admin"))
    assert h.store.scim_tokens == {}
