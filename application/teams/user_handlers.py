"""Handlers for users and admin tokens: load, call one method, commit."""

from __future__ import annotations

from application.teams.uow import TeamsUnitOfWork
from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from domains.shared.errors import NotFound
from domains.teams.users import AdminToken, User


async def create_user(command: CreateUser, uow: TeamsUnitOfWork) -> User:
    async with uow:
        org = await uow.orgs.get(command.org_id)
        if org is None:
            raise NotFound(f"org {command.org_id} not found")
        org.require_live()
        user = User.create(
            org,
            command.email,
            command.role,
            actor=command.actor,
            display_name=command.display_name,
            external_id=command.external_id,
        )
        await uow.users.add(user)
        await uow.commit()
    return user


async def change_user(command: ChangeUser, uow: TeamsUnitOfWork) -> User:
    async with uow:
        user = await uow.users.get(command.user_id)
        if user is None:
            raise NotFound(f"user {command.user_id} not found")
        if (org := await uow.orgs.get(user.org_id)) is not None:
            org.require_live()  # a deleted org's people stay as its deletion left them
        owners = await uow.users.count_active_owners(user.org_id) if user.is_active_owner else 0
        if user.change(
            actor=command.actor,
            active_owners=owners,
            role=command.role,
            active=command.active,
            display_name=command.display_name,
        ):
            await uow.users.save(user)
            await uow.commit()
    return user


async def issue_admin_token(
    command: IssueAdminToken, uow: TeamsUnitOfWork
) -> tuple[AdminToken, str]:
    async with uow:
        user = await uow.users.get(command.user_id)
        if user is None:
            raise NotFound(f"user {command.user_id} not found")
        token, secret = AdminToken.issue(user, actor=command.actor)
        await uow.admin_tokens.add(token)
        await uow.commit()
    return token, secret


async def revoke_admin_token(command: RevokeAdminToken, uow: TeamsUnitOfWork) -> AdminToken:
    async with uow:
        token = await uow.admin_tokens.get(command.token_id)
        if token is None:
            raise NotFound(f"admin token {command.token_id} not found")
        token.revoke(actor=command.actor)
        await uow.admin_tokens.save(token)
        await uow.commit()
    return token
