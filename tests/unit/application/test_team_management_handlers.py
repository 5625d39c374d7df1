"""Orgs, teams, keys, people and admin tokens through the whole bus (the teams context as
`register` wires it), over the in-memory unit of work."""

from __future__ import annotations

import pytest

from application.teams.commands import (
    ChangeKey,
    ChangeOrg,
    ChangeTeam,
    CreateOrg,
    CreateTeam,
    DeleteOrg,
    DeleteTeam,
    IssueKey,
    RevokeKey,
    RotateKey,
    SetBodiesLogging,
)
from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from domains.shared.errors import Conflict, NotFound
from domains.teams.events import (
    AdminTokenIssued,
    AdminTokenRevoked,
    BodiesLoggingSet,
    KeyChanged,
    KeyIssued,
    KeyRevoked,
    KeyRotated,
    OrgChanged,
    OrgCreated,
    OrgDeleted,
    TeamCreated,
    TeamDeleted,
    TeamRenamed,
    UserChanged,
    UserCreated,
)
from domains.teams.model import Org, Team, VirtualKey, hash_secret
from domains.teams.users import User
from tests.unit.application.bus_harness import Bus

TESTED = {
    CreateOrg,
    CreateTeam,
    IssueKey,
    RevokeKey,
    RotateKey,
    ChangeOrg,
    DeleteOrg,
    ChangeTeam,
    DeleteTeam,
    ChangeKey,
    SetBodiesLogging,
    CreateUser,
    ChangeUser,
    IssueAdminToken,
    RevokeAdminToken,
}


@pytest.fixture
def h() -> Bus:
    return Bus()


async def org_team_key(h: Bus) -> tuple[Org, Team, VirtualKey]:
    org = await h.quietly(CreateOrg(name="Acme", actor="admin"))
    team = await h.quietly(CreateTeam(org_id=org.id, name="Research", actor="admin"))
    key, _ = await h.quietly(IssueKey(team_id=team.id, name="ci", actor="admin"))
    return org, team, key


async def owner(h: Bus, org: Org, email: str = "ann@acme.test") -> User:
    user: User = await h.quietly(CreateUser(org_id=org.id, email=email, role="owner", actor="a"))
    return user


async def test_create_org_team_and_key_through_the_registered_handlers(h: Bus) -> None:
    org = await h.handle(CreateOrg(name="Acme", actor="admin"))
    team = await h.handle(CreateTeam(org_id=org.id, name="Research", actor="admin"))
    key, secret = await h.handle(IssueKey(team_id=team.id, name="ci", actor="admin"))
    assert h.kinds() == ["OrgCreated", "TeamCreated", "KeyIssued"]
    assert h.only(OrgCreated).org_id == org.id
    assert h.only(TeamCreated).team_id == team.id
    assert h.only(KeyIssued).key_id == key.id
    assert h.store.keys[key.id].secret_hash == hash_secret(secret)
    assert [row.action for row in h.store.audit_rows] == ["org.create", "team.create", "key.create"]


async def test_revoke_key_through_the_registered_handler(h: Bus) -> None:
    _, _, key = await org_team_key(h)
    await h.handle(RevokeKey(key_id=key.id, actor="admin"))
    assert h.store.keys[key.id].revoked_at is not None
    assert h.only(KeyRevoked).key_id == key.id
    with pytest.raises(Conflict):
        await h.handle(RevokeKey(key_id=key.id, actor="admin"))


async def test_rotate_key_expires_the_old_one_and_issues_a_new_one(h: Bus) -> None:
    _, team, key = await org_team_key(h)
    old, new, secret = await h.handle(RotateKey(key_id=key.id, actor="admin", grace_seconds=60))
    assert old.id == key.id
    assert new.id != key.id
    assert h.store.keys[key.id].expires_at is not None
    assert h.store.keys[new.id].secret_hash == hash_secret(secret)
    assert h.store.keys[new.id].team_id == team.id
    rotated = h.only(KeyRotated)
    assert (rotated.key_id, rotated.new_key_id) == (key.id, new.id)


async def test_rotating_an_unknown_key_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound):
        await h.handle(RotateKey(key_id="nope", actor="admin", grace_seconds=60))
    assert h.store.keys == {}
    assert h.events == []


async def test_change_org_renames_it(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    await h.handle(ChangeOrg(org_id=org.id, actor="admin", name="Acme Inc", metadata={"a": 1}))
    assert (h.store.orgs[org.id].name, h.store.orgs[org.id].metadata) == ("Acme Inc", {"a": 1})
    assert h.only(OrgChanged).name == "Acme Inc"


async def test_changing_nothing_commits_nothing(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    commits = h.store.commits
    await h.handle(ChangeOrg(org_id=org.id, actor="admin", name="Acme"))
    assert h.events == []
    assert h.store.commits == commits


async def test_changing_an_unknown_org_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="org nope not found"):
        await h.handle(ChangeOrg(org_id="nope", actor="admin", name="x"))


async def test_an_org_that_still_holds_a_team_is_not_deleted(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    with pytest.raises(Conflict):
        await h.handle(DeleteOrg(org_id=org.id, actor="admin"))
    assert h.store.orgs[org.id].deleted_at is None
    assert h.events == []


async def test_delete_org_deactivates_its_people_and_ends_their_sessions(h: Bus) -> None:
    org = await h.quietly(CreateOrg(name="Empty", actor="admin"))
    ann = await owner(h, org)
    h.store.dashboard_sessions.update({"s1": ann.id, "s2": "someone-else"})
    await h.handle(DeleteOrg(org_id=org.id, actor="admin"))
    assert h.store.orgs[org.id].deleted_at is not None
    assert h.store.users[ann.id].active is False
    assert h.only(OrgDeleted).org_id == org.id
    assert h.only(UserChanged).active is False
    assert h.store.dashboard_sessions == {"s2": "someone-else"}  # the subscriber ended hers


async def test_change_team_renames_it(h: Bus) -> None:
    _, team, _ = await org_team_key(h)
    await h.handle(ChangeTeam(team_id=team.id, actor="admin", name="Lab"))
    assert h.store.teams[team.id].name == "Lab"
    renamed = h.only(TeamRenamed)
    assert (renamed.previous_name, renamed.name) == ("Research", "Lab")


async def test_a_team_name_another_team_of_the_org_has_conflicts(h: Bus) -> None:
    org, team, _ = await org_team_key(h)
    await h.quietly(CreateTeam(org_id=org.id, name="Lab", actor="admin"))
    with pytest.raises(Conflict):
        await h.handle(ChangeTeam(team_id=team.id, actor="admin", name="Lab"))
    assert h.store.teams[team.id].name == "Research"
    assert h.events == []


async def test_delete_team_revokes_its_keys(h: Bus) -> None:
    _, team, key = await org_team_key(h)
    deleted, revoked = await h.handle(DeleteTeam(team_id=team.id, actor="admin"))
    assert deleted.id == team.id
    assert revoked == [key.id]
    assert h.store.teams[team.id].deleted_at is not None
    assert h.store.keys[key.id].revoked_at is not None
    assert h.only(TeamDeleted).revoked_keys == (key.id,)
    assert h.only(KeyRevoked).key_id == key.id


async def test_deleting_an_unknown_team_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="team nope not found"):
        await h.handle(DeleteTeam(team_id="nope", actor="admin"))


async def test_change_key_relabels_it(h: Bus) -> None:
    _, _, key = await org_team_key(h)
    await h.handle(ChangeKey(key_id=key.id, actor="admin", name="deploy", metadata={"env": "p"}))
    assert h.store.keys[key.id].name == "deploy"
    changed = h.only(KeyChanged)
    assert (changed.name, changed.metadata) == ("deploy", {"env": "p"})


async def test_changing_an_unknown_key_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="key nope not found"):
        await h.handle(ChangeKey(key_id="nope", actor="admin", name="x"))


async def test_a_team_and_a_key_opt_in_and_out_of_keeping_bodies(h: Bus) -> None:
    _, team, key = await org_team_key(h)
    await h.handle(SetBodiesLogging(scope="team", target_id=team.id, enabled=True, actor="a"))
    assert h.store.teams[team.id].log_bodies is True
    event = h.only(BodiesLoggingSet)
    assert (event.scope, event.target_id, event.team_id, event.enabled) == (
        "team",
        team.id,
        team.id,
        True,
    )
    await h.handle(SetBodiesLogging(scope="team", target_id=team.id, enabled=True, actor="a"))
    assert len([e for e in h.events if isinstance(e, BodiesLoggingSet)]) == 1  # no change
    await h.handle(SetBodiesLogging(scope="key", target_id=key.id, enabled=True, actor="a"))
    assert h.store.keys[key.id].log_bodies is True
    with pytest.raises(NotFound, match="key nope not found"):
        await h.handle(SetBodiesLogging(scope="key", target_id="nope", enabled=True, actor="a"))


async def test_create_user_in_an_org(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    user = await h.handle(
        CreateUser(org_id=org.id, email="Bob@Acme.test", role="member", actor="admin")
    )
    assert h.store.users == {user.id: user}
    created = h.only(UserCreated)
    assert (created.user_id, created.role) == (user.id, "member")


async def test_an_email_already_in_the_org_conflicts(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    await owner(h, org, "bob@acme.test")
    with pytest.raises(Conflict):
        await h.handle(CreateUser(org_id=org.id, email="BOB@acme.test", role="member", actor="a"))
    assert len(h.store.users) == 1
    assert h.events == []


async def test_a_user_of_an_unknown_org_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="org nope not found"):
        await h.handle(CreateUser(org_id="nope", email="a@b.test", role="member", actor="a"))


async def test_change_user_changes_the_role(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    await owner(h, org)
    bob = await owner(h, org, "bob@acme.test")
    await h.handle(ChangeUser(user_id=bob.id, actor="admin", role="member"))
    assert h.store.users[bob.id].role == "member"
    assert h.only(UserChanged).role == "member"


async def test_the_last_active_owner_is_not_demoted(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    ann = await owner(h, org)
    with pytest.raises(Conflict, match="last active owner"):
        await h.handle(ChangeUser(user_id=ann.id, actor="admin", active=False))
    assert h.store.users[ann.id].active is True
    assert h.events == []


async def test_issue_and_revoke_an_admin_token(h: Bus) -> None:
    org, _, _ = await org_team_key(h)
    ann = await owner(h, org)
    token, secret = await h.handle(IssueAdminToken(user_id=ann.id, actor="admin"))
    assert h.store.admin_tokens[token.id].secret_hash == hash_secret(secret)
    assert h.only(AdminTokenIssued).user_id == ann.id
    h.events.clear()
    await h.handle(RevokeAdminToken(token_id=token.id, actor="admin"))
    assert h.store.admin_tokens[token.id].revoked_at is not None
    assert h.only(AdminTokenRevoked).token_id == token.id


async def test_admin_token_of_an_unknown_user_or_unknown_token_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound, match="user nope not found"):
        await h.handle(IssueAdminToken(user_id="nope", actor="admin"))
    with pytest.raises(NotFound, match="admin token nope not found"):
        await h.handle(RevokeAdminToken(token_id="nope", actor="admin"))
    assert h.store.admin_tokens == {}
