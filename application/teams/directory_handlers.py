"""Handlers for what an identity provider asks (SCIM): load, change, commit.

Every lookup is within the org the provider's token belongs to: a person or group of another
org is answered as one that does not exist. A token acts with its minter's role (`reach`): it
changes, deactivates and deletes no one who outranks it, and moves no one into or out of a
group granting a role unless it may grant that role and act on them (Forbidden otherwise), the
same rules as the admin API's.
"""

from __future__ import annotations

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
from application.teams.uow import TeamsUnitOfWork
from domains.shared.errors import Forbidden, InvalidValue, NotFound
from domains.teams import directory
from domains.teams.groups import Group
from domains.teams.model import Org, Team
from domains.teams.scim_tokens import ScimToken
from domains.teams.users import ROLES, User, as_role, outranks

DEFAULT_ROLE = "member"


async def _org(uow: TeamsUnitOfWork, org_id: str) -> Org:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(f"org {org_id} not found")
    org.require_live()
    return org


async def _user(uow: TeamsUnitOfWork, org_id: str, user_id: str) -> User:
    user = await uow.users.get(user_id)
    if user is None or user.org_id != org_id or user.deleted:
        raise NotFound(f"user {user_id} not found")
    return user


def _require_reach(user: User, reach: str) -> None:
    """Forbidden when the person outranks the token."""
    if outranks(user.role, as_role(reach)):
        raise Forbidden(
            f"this SCIM token acts with the role {reach!r} (its minter's): it may not change a "
            f"person whose role is {user.role!r}"
        )


async def _require_group_reach(
    uow: TeamsUnitOfWork, group: Group, user_ids: tuple[str, ...], reach: str
) -> None:
    """Forbidden when people join or leave a group granting a role above the token's, or a
    group granting a role whose members outrank it. Groups that grant no role (a team's) take
    anyone in and out."""
    if group.role is None or not user_ids:
        return
    if outranks(group.role, as_role(reach)):
        raise Forbidden(
            f"this SCIM token acts with the role {reach!r} (its minter's): it may not change "
            f"who is in a group granting {group.role!r}"
        )
    for user_id in user_ids:
        user = await uow.users.get(user_id)
        if user is not None and not user.deleted:
            _require_reach(user, reach)


async def _group(uow: TeamsUnitOfWork, org_id: str, group_id: str) -> Group:
    group = await uow.groups.get(group_id)
    if group is None or group.org_id != org_id:
        raise NotFound(f"group {group_id} not found")
    return group


async def _members(
    uow: TeamsUnitOfWork, org_id: str, members: tuple[tuple[str, str | None], ...]
) -> dict[str, str | None]:
    wanted = dict(members)
    unknown = set(wanted) - await uow.users.live_ids(org_id, wanted)
    if unknown:
        raise InvalidValue(f"no such user in the org: {sorted(unknown)[0]}")
    return wanted


async def _settle_roles(
    uow: TeamsUnitOfWork, group: Group, user_ids: tuple[str, ...], actor: str
) -> None:
    """People who joined or left a group granting a role (its membership saved already) hold
    the highest role their groups grant, or the default one."""
    if group.role is None:
        return
    for user_id in user_ids:
        user = await uow.users.get(user_id)
        if user is None or user.deleted:
            continue
        granted = await uow.groups.roles_of(user_id)
        # ROLES runs owner, admin, member, viewer: the lowest index is the highest role
        role = min(granted, key=ROLES.index) if granted else DEFAULT_ROLE
        if directory.grant_role(user, role, actor=actor):
            await uow.users.save(user)


async def provision_user(command: ProvisionUser, uow: TeamsUnitOfWork) -> User:
    async with uow:
        org = await _org(uow, command.org_id)
        if outranks(as_role(command.role), as_role(command.reach)):
            raise Forbidden(
                f"this SCIM token acts with the role {command.reach!r} (its minter's): it may "
                f"not provision people as {command.role!r}"
            )
        user = directory.provision(org, command.entry, role=command.role, actor=command.actor)
        await uow.users.add(user)
        await uow.commit()
    return user


async def update_provisioned_user(command: UpdateProvisionedUser, uow: TeamsUnitOfWork) -> User:
    async with uow:
        user = await _user(uow, command.org_id, command.user_id)
        _require_reach(user, command.reach)
        if directory.update(
            user, command.entry, actor=command.actor, expected_version=command.expected_version
        ):
            await uow.users.save(user)
            await uow.commit()
    return user


async def delete_provisioned_user(command: DeleteProvisionedUser, uow: TeamsUnitOfWork) -> User:
    async with uow:
        user = await _user(uow, command.org_id, command.user_id)
        _require_reach(user, command.reach)
        directory.delete(user, actor=command.actor, expected_version=command.expected_version)
        await uow.users.save(user)
        await uow.commit()
    return user


async def _team_named(uow: TeamsUnitOfWork, org: Org, name: str, actor: str) -> Team:
    team = await uow.teams.find_by_name(org.id, name)
    if team is None:
        team = Team.create(org, name, actor=actor)
        await uow.teams.add(team)
    return team


async def create_group(command: CreateGroup, uow: TeamsUnitOfWork) -> Group:
    async with uow:
        org = await _org(uow, command.org_id)
        members = await _members(uow, org.id, command.members)
        team_id = None
        if command.team_name is not None:
            team_id = (await _team_named(uow, org, command.team_name, command.actor)).id
        group = Group.create(
            org,
            command.display_name,
            actor=command.actor,
            external_id=command.external_id,
            team_id=team_id,
            role=as_role(command.role) if command.role is not None else None,
            follows_team_name=command.follows_team_name and team_id is not None,
            members=members,
        )
        await _require_group_reach(uow, group, tuple(members), command.reach)
        await uow.groups.add(group)
        await _settle_roles(uow, group, tuple(members), command.actor)
        await uow.commit()
    return group


async def change_group(command: ChangeGroup, uow: TeamsUnitOfWork) -> Group:
    async with uow:
        group = await _group(uow, command.org_id, command.group_id)
        members = await _members(uow, command.org_id, command.members)
        before = group.display_name
        moved = group.change(
            display_name=command.display_name,
            external_id=command.external_id,
            members=members,
            actor=command.actor,
            expected_version=command.expected_version,
        )
        await _require_group_reach(uow, group, moved, command.reach)
        if group.follows_team_name and group.team_id and group.display_name != before:
            team = await uow.teams.get(group.team_id)
            if team is not None and team.name == before:
                team.rename(group.display_name, actor=command.actor)
                await uow.teams.save(team)
        await uow.groups.save(group)
        await _settle_roles(uow, group, moved, command.actor)
        await uow.commit()
    return group


async def delete_group(command: DeleteGroup, uow: TeamsUnitOfWork) -> Group:
    async with uow:
        group = await _group(uow, command.org_id, command.group_id)
        members = tuple(group.members)
        await _require_group_reach(uow, group, members, command.reach)
        group.delete(actor=command.actor, expected_version=command.expected_version)
        await uow.groups.save(group)
        await _settle_roles(uow, group, members, command.actor)
        await uow.commit()
    return group


async def issue_scim_token(command: IssueScimToken, uow: TeamsUnitOfWork) -> tuple[ScimToken, str]:
    async with uow:
        org = await _org(uow, command.org_id)
        token, secret = ScimToken.issue(org, actor=command.actor, actor_role=command.actor_role)
        await uow.scim_tokens.add(token)
        await uow.commit()
    return token, secret


async def revoke_scim_token(command: RevokeScimToken, uow: TeamsUnitOfWork) -> ScimToken:
    async with uow:
        token = await uow.scim_tokens.get(command.token_id)
        if token is None:
            raise NotFound(f"SCIM token {command.token_id} not found")
        token.revoke(actor=command.actor)
        await uow.scim_tokens.save(token)
        await uow.commit()
    return token
