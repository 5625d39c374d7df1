"""Handlers that rename, relabel and delete orgs, teams and keys: load, change, commit."""

from __future__ import annotations

from application.teams.commands import (
    ChangeKey,
    ChangeOrg,
    ChangeTeam,
    DeleteOrg,
    DeleteTeam,
    SetBodiesLogging,
)
from application.teams.uow import TeamsUnitOfWork
from domains.shared.errors import NotFound
from domains.teams import management
from domains.teams.model import Org, Team, VirtualKey
from domains.teams.users import User


async def _org(uow: TeamsUnitOfWork, org_id: str) -> Org:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(f"org {org_id} not found")
    return org


async def _team(uow: TeamsUnitOfWork, team_id: str) -> Team:
    team = await uow.teams.get(team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


async def _people(uow: TeamsUnitOfWork, org_id: str, user_ids: list[str]) -> list[User]:
    found = [await uow.users.get(user_id) for user_id in user_ids]
    return [user for user in found if user is not None and user.org_id == org_id]


async def change_org(command: ChangeOrg, uow: TeamsUnitOfWork) -> Org:
    async with uow:
        org = await _org(uow, command.org_id)
        if management.change_org(
            org, actor=command.actor, name=command.name, metadata=command.metadata
        ):
            await uow.orgs.save(org)
            await uow.commit()
    return org


async def delete_org(command: DeleteOrg, uow: TeamsUnitOfWork) -> Org:
    """The org, deleted, its people deactivated (their tokens and sessions end with it)."""
    async with uow:
        org = await _org(uow, command.org_id)
        # people first, then the org: the order a change to a person locks them in
        people = await _people(uow, org.id, await uow.orgs.active_user_ids(org.id))
        holdings = await uow.orgs.holdings(org.id)  # waits for people being added
        known = {person.id for person in people}
        late = [i for i in await uow.orgs.active_user_ids(org.id) if i not in known]
        people += await _people(uow, org.id, late)
        management.delete_org(org, holdings, people, actor=command.actor)
        for user in people:
            await uow.users.save(user)
        await uow.orgs.save(org)
        await uow.commit()
    return org


async def change_team(command: ChangeTeam, uow: TeamsUnitOfWork) -> Team:
    async with uow:
        team = await _team(uow, command.team_id)
        if management.change_team(
            team, actor=command.actor, name=command.name, metadata=command.metadata
        ):
            await uow.teams.save(team)
            await uow.commit()
    return team


async def delete_team(command: DeleteTeam, uow: TeamsUnitOfWork) -> tuple[Team, list[str]]:
    """The team, deleted, and the ids of its keys revoked with it (each revocation reaches
    every replica as any other does)."""
    async with uow:
        team = await _team(uow, command.team_id)
        keys = await uow.keys.unrevoked_of_team(team.id)
        management.delete_team(team, keys, actor=command.actor)
        for key in keys:
            await uow.keys.save(key)
        await uow.teams.save(team)
        await uow.commit()
    return team, [key.id for key in keys]


async def change_key(command: ChangeKey, uow: TeamsUnitOfWork) -> VirtualKey:
    async with uow:
        key = await uow.keys.get(command.key_id)
        if key is None:
            raise NotFound(f"key {command.key_id} not found")
        if management.change_key(
            key, actor=command.actor, name=command.name, metadata=command.metadata
        ):
            await uow.keys.save(key)
            await uow.commit()
    return key


async def set_bodies_logging(command: SetBodiesLogging, uow: TeamsUnitOfWork) -> Team | VirtualKey:
    """The team or key, opted in or out of keeping its calls' bodies (audited)."""
    async with uow:
        owner: Team | VirtualKey
        if command.scope == "team":
            owner = await _team(uow, command.target_id)
        else:
            key = await uow.keys.get(command.target_id)
            if key is None:
                raise NotFound(f"key {command.target_id} not found")
            owner = key
        if management.set_bodies_logging(owner, command.enabled, actor=command.actor):
            if isinstance(owner, Team):
                await uow.teams.save(owner)
            else:
                await uow.keys.save(owner)
            await uow.commit()
    return owner
