"""Teams command handlers: load, call one method, commit."""

from __future__ import annotations

from datetime import timedelta

from application.teams.commands import CreateOrg, CreateTeam, IssueKey, RevokeKey, RotateKey
from application.teams.uow import TeamsUnitOfWork
from domains.shared.errors import NotFound
from domains.teams.model import Org, Team, VirtualKey


async def create_org(command: CreateOrg, uow: TeamsUnitOfWork) -> Org:
    async with uow:
        org = Org.create(command.name, actor=command.actor)
        await uow.orgs.add(org)
        await uow.commit()
    return org


async def create_team(command: CreateTeam, uow: TeamsUnitOfWork) -> Team:
    async with uow:
        org = await uow.orgs.get(command.org_id)
        if org is None:
            raise NotFound(f"org {command.org_id} not found")
        team = Team.create(org, command.name, actor=command.actor)
        await uow.teams.add(team)
        await uow.commit()
    return team


async def issue_key(command: IssueKey, uow: TeamsUnitOfWork) -> tuple[VirtualKey, str]:
    async with uow:
        team = await uow.teams.get(command.team_id)
        if team is None:
            raise NotFound(f"team {command.team_id} not found")
        key, secret = VirtualKey.issue(
            team,
            command.name,
            actor=command.actor,
            user_id=command.user_id,
            models=command.models,
            expires_at=command.expires_at,
        )
        await uow.keys.add(key)
        await uow.commit()
    return key, secret


async def revoke_key(command: RevokeKey, uow: TeamsUnitOfWork) -> VirtualKey:
    async with uow:
        key = await uow.keys.get(command.key_id)
        if key is None:
            raise NotFound(f"key {command.key_id} not found")
        key.revoke(actor=command.actor)
        await uow.keys.save(key)
        await uow.commit()
    return key


async def rotate_key(
    command: RotateKey, uow: TeamsUnitOfWork
) -> tuple[VirtualKey, VirtualKey, str]:
    """(the old key, now expiring, the new key, its secret)."""
    async with uow:
        old = await uow.keys.get(command.key_id)
        if old is None:
            raise NotFound(f"key {command.key_id} not found")
        new, secret = old.rotate(
            actor=command.actor, grace=timedelta(seconds=command.grace_seconds)
        )
        await uow.keys.save(old)
        await uow.keys.add(new)
        await uow.commit()
    return old, new, secret
