"""Signing in through an SSO connection (its handler: load, change, commit).

A sign-in finds the person the connection's subject signed in as before; else the org's person
of that login name or address, whom it links only when the connection may (someone SCIM
provisioned, or an address of a domain the org declares); else creates them (just-in-time). A
deactivated or deleted person is refused. The groups the identity provider names, as far as the
connection's `role_map` knows them, become the org's directory groups of those names (linked to
the mapped team, granting the mapped role), and the person's memberships of those groups follow
what the provider said this time.

A connection acts on the authority of whoever last set it. Its reach at each sign-in is the
lower of the role they had then and the role they hold now (the operator's key and the
configuration file: owner); someone no longer active gives it none, until an owner or admin
sets it again. A sign-in never lets in a person who outranks that reach, and never grants a
role above it (the role is capped, and the capping audited).
"""

from __future__ import annotations

from application.teams.sso_commands import SignInWithSso
from application.teams.sso_handlers import existing_connection, live_org
from application.teams.uow import TeamsUnitOfWork
from domains.shared.errors import Forbidden
from domains.teams import directory, sign_in_domains
from domains.teams.events import SignedIn, SsoIdentityLinked, SsoRoleCapped
from domains.teams.groups import Group
from domains.teams.model import Org, Team
from domains.teams.sso import Identity, SsoConnection
from domains.teams.users import ROLES, Role, User, lower_of, outranks

PERSON_ACTOR = "user:"


class SignInRefused(Forbidden):
    """The identity provider vouched for someone who may not sign in; `reason` says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


async def _person(
    uow: TeamsUnitOfWork, connection: SsoConnection, identity: Identity
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


async def _team_named(uow: TeamsUnitOfWork, org: Org, name: str, actor: str) -> Team:
    team = await uow.teams.find_by_name(org.id, name)
    if team is None:
        team = Team.create(org, name, actor=actor)
        await uow.teams.add(team)
    return team


async def _follow_groups(
    uow: TeamsUnitOfWork, org: Org, connection: SsoConnection, user: User, groups: tuple[str, ...]
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


async def _reach(uow: TeamsUnitOfWork, connection: SsoConnection, user: User | None) -> Role | None:
    """The most this connection may grant now: the role of whoever set it, then and now
    (the lower); None once that person is no longer an active member of the org."""
    setter = connection.set_by or ""
    if not setter.startswith(PERSON_ACTOR):
        return connection.set_by_role  # the operator's key or the configuration file
    setter_id = setter.removeprefix(PERSON_ACTOR)
    person = user if user is not None and user.id == setter_id else None
    person = person or await uow.users.get(setter_id)
    if person is None or person.org_id != connection.org_id or person.deleted or not person.active:
        return None
    return lower_of(connection.set_by_role, person.role)


def _link_basis(org: Org, user: User, identity: Identity) -> str | None:
    """Why the connection may link this existing person (found by login name or address), or
    None: the directory provisioned them, or the address vouched for is theirs and of a domain
    the org declares."""
    if user.user_name is not None:
        return "scim"
    same_address = (
        identity.email is not None
        and user.email_key is not None
        and identity.email.lower() == user.email_key
    )
    if same_address and sign_in_domains.is_declared(org, identity.email):
        return "domain"
    return None


def _tell_capped(
    uow: TeamsUnitOfWork, connection: SsoConnection, user: User, wanted: Role, reach: Role
) -> None:
    """Tells that the person got `reach` rather than `wanted`, when it is above it."""
    if not outranks(wanted, reach):
        return
    uow.publish(
        SsoRoleCapped(
            user_id=user.id,
            org_id=user.org_id,
            connection_id=connection.id,
            wanted=wanted,
            granted=reach,
            reach=reach,
        )
    )


async def sign_in_with_sso(command: SignInWithSso, uow: TeamsUnitOfWork) -> User:
    identity = command.identity
    async with uow:
        connection = await existing_connection(uow, command.connection_id)
        org = await live_org(uow, connection.org_id)
        actor = f"sso:{connection.id}"
        user, linked = await _person(uow, connection, identity)
        reach = await _reach(uow, connection, user)
        if reach is None:
            raise SignInRefused(
                "the person who set this connection up is no longer active in the org; an owner "
                "or admin must set it again",
                "connection_unowned",
            )
        provisioned = user is None
        basis: str | None = "created" if provisioned else None
        if user is None:
            if identity.email is None:
                raise SignInRefused("the identity provider gave no email address", "no_email")
            user = User.create(
                org,
                identity.email,
                lower_of(connection.default_role, reach),
                actor=actor,
                display_name=(identity.display_name or "").strip() or None,
            )
            await uow.users.add(user)
            _tell_capped(uow, connection, user, connection.default_role, reach)
        elif not linked:
            basis = _link_basis(org, user, identity)
            if basis is None:
                raise SignInRefused(
                    "this address belongs to someone the connection may not sign in: neither "
                    "provisioned by the org's directory nor of a domain the org declares",
                    "not_linkable",
                )
        if user.deleted or not user.active:
            raise SignInRefused("this person is deactivated", "user_inactive")
        if user.org_id != connection.org_id:
            raise SignInRefused("this person belongs to another org", "wrong_org")
        if outranks(user.role, reach):
            raise SignInRefused(
                f"this person's role ({user.role}) is above what the connection may grant "
                f"({reach})",
                "outranks_connection",
            )
        if basis is not None:
            await uow.sso_identities.link(connection.id, identity.subject, user.id)
            uow.publish(
                SsoIdentityLinked(
                    user_id=user.id,
                    org_id=user.org_id,
                    connection_id=connection.id,
                    subject=identity.subject,
                    basis=basis,
                )
            )
        if await _follow_groups(uow, org, connection, user, identity.groups):
            granted = await uow.groups.roles_of(user.id)
            # ROLES runs owner, admin, member, viewer: the lowest index is the highest role
            role = min(granted, key=ROLES.index) if granted else connection.default_role
            _tell_capped(uow, connection, user, role, reach)
            if directory.grant_role(user, lower_of(role, reach), actor=actor):
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
