"""Handlers that manage SSO connections and the sign-in domains an org declares: load, change,
commit. Signing in through a connection is `application.teams.sso_sign_in`."""

from __future__ import annotations

from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSignInDomains,
    DeclareSsoConnection,
    DeleteSsoConnection,
)
from application.teams.uow import TeamsUnitOfWork
from domains.shared.errors import InvalidValue, NotFound
from domains.teams import sign_in_domains
from domains.teams.model import Org
from domains.teams.sso import SsoConnection
from domains.teams.users import as_role

DECLARED_BY = "config"


async def live_org(uow: TeamsUnitOfWork, org_id: str) -> Org:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(f"org {org_id} not found")
    org.require_live()
    return org


async def existing_connection(uow: TeamsUnitOfWork, connection_id: str) -> SsoConnection:
    connection = await uow.sso_connections.get(connection_id)
    if connection is None:
        raise NotFound(f"SSO connection {connection_id} not found")
    return connection


async def create_sso_connection(
    command: CreateSsoConnection, uow: TeamsUnitOfWork
) -> SsoConnection:
    async with uow:
        org = await live_org(uow, command.org_id)
        connection = SsoConnection.create(
            org,
            command.kind,
            actor=command.actor,
            actor_role=as_role(command.actor_role),
            connection_id=command.connection_id,
            declared=command.declared,
            **command.settings,
        )
        await uow.sso_connections.add(connection)
        await uow.commit()
    return connection


async def change_sso_connection(
    command: ChangeSsoConnection, uow: TeamsUnitOfWork
) -> SsoConnection:
    async with uow:
        connection = await existing_connection(uow, command.connection_id)
        changed = connection.change(
            actor=command.actor, actor_role=as_role(command.actor_role), **command.settings
        )
        if changed:
            await uow.sso_connections.save(connection)
            await uow.commit()
    return connection


async def delete_sso_connection(
    command: DeleteSsoConnection, uow: TeamsUnitOfWork
) -> SsoConnection:
    async with uow:
        connection = await existing_connection(uow, command.connection_id)
        connection.delete(actor=command.actor)
        await uow.sso_connections.save(connection)
        await uow.commit()
    return connection


async def declare_sso_connection(
    command: DeclareSsoConnection, uow: TeamsUnitOfWork
) -> SsoConnection:
    async with uow:
        connection = await uow.sso_connections.get(command.connection_id)
        if connection is None:
            connection = SsoConnection.create(
                await live_org(uow, command.org_id),
                command.kind,
                actor=DECLARED_BY,
                actor_role="owner",
                connection_id=command.connection_id,
                declared=True,
                **command.settings,
            )
            await uow.sso_connections.add(connection)
        elif connection.org_id != command.org_id or connection.kind != command.kind:
            raise InvalidValue(
                f"SSO connection {command.connection_id} exists with another org or kind"
            )
        elif connection.change(actor=DECLARED_BY, actor_role="owner", **command.settings):
            await uow.sso_connections.save(connection)
        await uow.commit()
    return connection


async def declare_sign_in_domains(command: DeclareSignInDomains, uow: TeamsUnitOfWork) -> Org:
    async with uow:
        org = await live_org(uow, command.org_id)
        if sign_in_domains.declare(org, command.domains, actor=command.actor):
            await uow.orgs.save(org)
            await uow.commit()
    return org
