"""Handlers for SSO connections and sign-ins: load, change, commit.

A sign-in finds the person the connection's subject signed in as before; else the org's person
of that login name or address (someone SCIM provisioned: matched, not duplicated); else creates
them (just-in-time). A deactivated or deleted person is refused. The groups the identity
provider names, as far as the connection's `role_map` knows them, become the org's directory
groups of those names (linked to the mapped team, granting the mapped role), and the person's
memberships of those groups follow what the provider said this time.
"""

from __future__ import annotations

from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSsoConnection,
    DeleteSsoConnection,
    SignInWithSso,
)
from application.uow import UnitOfWork
from domains.shared.errors import Forbidden, InvalidValue, NotFound
from domains.teams import directory
from domains.teams.events import SignedIn
from domains.teams.groups import Group
from domains.teams.model import Org, Team
from domains.teams.sso import Identity, SsoConnection
from domains.teams.users import ROLES, User

DECLARED_BY = "config"


class SignInRefused(Forbidden):
    """The identity provider vouched for someone who may not sign in; `reason` says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


async def _org(uow: UnitOfWork, org_id: str) -> Org:
    org = await uow.orgs.get(org_id)
    if org is None:
        raise NotFound(f"org {org_id} not found")
    org.require_live()
    return org


async def _connection(uow: UnitOfWork, connection_id: str) -> SsoConnection:
    connection = await uow.sso_connections.get(connection_id)
    if connection is None:
        raise NotFound(f"SSO connection {connection_id} not found")
    return connection


async def create_sso_connection(command: CreateSsoConnection, uow: UnitOfWork) -> SsoConnection:
    async with uow:
        org = await _org(uow, command.org_id)
        connection = SsoConnection.create(
            org,
            command.kind,
            actor=command.actor,
            connection_id=command.connection_id,
            declared=command.declared,
            **command.settings,
        )
        await uow.sso_connections.add(connection)
        await uow.commit()
    return connection


async def change_sso_connection(command: ChangeSsoConnection, uow: UnitOfWork) -> SsoConnection:
    async with uow:
        connection = await _connection(uow, command.connection_id)
        if connection.change(actor=command.actor, **command.settings):
            await uow.sso_connections.save(connection)
            await uow.commit()
    return connection


async def delete_sso_connection(command: DeleteSsoConnection, uow: UnitOfWork) -> SsoConnection:
    async with uow:
        connection = await _connection(uow, command.connection_id)
        connection.delete(actor=command.actor)
        await uow.sso_connections.save(connection)
        await uow.commit()
    return connection


async def declare_sso_connection(command: DeclareSsoConnection, uow: UnitOfWork) -> SsoConnection:
    async with uow:
        connection = await uow.sso_connections.get(command.connection_id)
        if connection is None:
            connection = SsoConnection.create(
                await _org(uow, command.org_id),
                command.kind,
                actor=DECLARED_BY,
                connection_id=command.connection_id,
                declared=True,
                **command.settings,
            )
            await uow.sso_connections.add(connection)
        elif connection.org_id != command.org_id or connection.kind != command.kind:
            raise InvalidValue(
                f"SSO connection {command.connection_id} exists with another org or kind"
            )
        elif connection.change(actor=DECLARED_BY, **command.settings):
            await uow.sso_connections.save(connection)
        await uow.commit()
    return connection


async def _person(
    uow: UnitOfWork, connection: SsoConnection, identity: Identity
) -> tuple[User | None, bool]:
    """The person this identity is, and whether they were linked to it before."""
    linked = await uow.sso_identities.user_for(connection.id, identity.subject)
    if linked is not None:
        return await uow.users.get(linked), True
    user_name = identity.user_name or identity.email
    found = await uow.users.find_for_sign_in(
        connection.org_id, user_name=user_name, email=identity.email
    )
    return found, False


async def _team_named(uow: UnitOfWork, org: Org, name: str, actor: str) -> Team:
    team = await uow.teams.find_by_name(org.id, name)
    if team is None:
        team = Team.create(org, name, actor=actor)
        await uow.teams.add(team)
    return team


async def _follow_groups(
    uow: UnitOfWork, org: Org, connection: SsoConnection, user: User, groups: tuple[str, ...]
) -> bool:
    """Joins the person to the mapped groups they are in and takes them out of the others;
    True when a group that grants a role gained or lost them."""
    actor = f"sso:{connection.id}"
    held = connection.grants_for(groups)
    roles_moved = False
    for name, grant in connection.role_map.items():
        group = await uow.groups.find_by_name(org.id, name)
        if name not in held and (group is None or user.id not in group.members):
            continue
        if group is None:
            team_id = None
            if grant.team is not None:
                team_id = (await _team_named(uow, org, grant.team, actor)).id
            group = Group.create(org, name, actor=actor, team_id=team_id, role=grant.role)
            await uow.groups.add(group)
        members = dict(group.members)
        if name in held:
            members.setdefault(user.id, user.email)
        else:
            members.pop(user.id, None)
        moved = group.change(
            display_name=group.display_name,
            external_id=group.external_id,
            members=members,
            actor=actor,
        )
        if moved:
            await uow.groups.save(group)
            roles_moved = roles_moved or group.role is not None
    return roles_moved


async def sign_in_with_sso(command: SignInWithSso, uow: UnitOfWork) -> User:
    identity = command.identity
    async with uow:
        connection = await _connection(uow, command.connection_id)
        org = await _org(uow, connection.org_id)
        actor = f"sso:{connection.id}"
        user, linked = await _person(uow, connection, identity)
        provisioned = user is None
        if user is None:
            if identity.email is None:
                raise SignInRefused("the identity provider gave no email address", "no_email")
            user = User.create(
                org,
                identity.email,
                connection.default_role,
                actor=actor,
                display_name=(identity.display_name or "").strip() or None,
            )
            await uow.users.add(user)
        if user.deleted or not user.active:
            raise SignInRefused("this person is deactivated", "user_inactive")
        if user.org_id != connection.org_id:
            raise SignInRefused("this person belongs to another org", "wrong_org")
        if not linked:
            await uow.sso_identities.link(connection.id, identity.subject, user.id)
        if await _follow_groups(uow, org, connection, user, identity.groups):
            granted = await uow.groups.roles_of(user.id)
            # ROLES runs owner, admin, member, viewer: the lowest index is the highest role
            role = min(granted, key=ROLES.index) if granted else connection.default_role
            if directory.grant_role(user, role, actor=actor):
                await uow.users.save(user)
        uow.publish(
            SignedIn(
                user_id=user.id,
                org_id=user.org_id,
                connection_id=connection.id,
                kind=connection.kind,
                subject=identity.subject,
                provisioned=provisioned,
                source_ip=command.source_ip,
            )
        )
        await uow.commit()
    return user
