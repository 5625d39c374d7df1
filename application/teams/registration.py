"""The teams context on the bus: its command handlers and how it reacts to its own events."""

from __future__ import annotations

import functools
from typing import Protocol

from application.bus import Registry, Subscriber
from application.shared.uow import UnitOfWork
from application.teams import (
    directory_handlers,
    handlers,
    management_handlers,
    sso_handlers,
    sso_sign_in,
    user_handlers,
)
from application.teams.authenticate import KeyAuthenticator
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
from application.teams.dashboard_sessions import (
    SessionStore,
    when_user_deactivated_end_sessions_in_db,
    when_user_deactivated_end_sessions_in_store,
)
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
from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSignInDomains,
    DeclareSsoConnection,
    DeleteSsoConnection,
    SignInWithSso,
)
from application.teams.subscribers import (
    when_bodies_logging_set_forget_keys,
    when_key_revoked_forget_key,
    when_user_deactivated_forget_keys,
)
from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from domains.teams.events import (
    BodiesLoggingSet,
    KeyRevoked,
    KeyRotated,
    UserChanged,
    UserDeleted,
)


class Broadcast(Protocol):
    """Tells the other replicas which keys and people to forget (a revocation channel)."""

    async def when_key_revoked_broadcast(
        self, events: list[KeyRevoked | KeyRotated], uow: UnitOfWork
    ) -> None: ...

    async def when_user_deactivated_broadcast(
        self, events: list[UserChanged | UserDeleted], uow: UnitOfWork
    ) -> None: ...


def register(
    registry: Registry,
    *,
    authenticator: KeyAuthenticator | None,
    sessions: SessionStore | None,
    broadcast: Broadcast | None,
) -> None:
    """`authenticator`: the key cache to evict, in a process that authenticates callers;
    `sessions`: where dashboard sessions are kept, if not in the database; `broadcast`: the
    other replicas to tell, if there are any."""
    for command, handler in (
        (CreateOrg, handlers.create_org),
        (CreateTeam, handlers.create_team),
        (IssueKey, handlers.issue_key),
        (RevokeKey, handlers.revoke_key),
        (RotateKey, handlers.rotate_key),
        (ChangeOrg, management_handlers.change_org),
        (DeleteOrg, management_handlers.delete_org),
        (ChangeTeam, management_handlers.change_team),
        (DeleteTeam, management_handlers.delete_team),
        (ChangeKey, management_handlers.change_key),
        (SetBodiesLogging, management_handlers.set_bodies_logging),
        (CreateUser, user_handlers.create_user),
        (ChangeUser, user_handlers.change_user),
        (IssueAdminToken, user_handlers.issue_admin_token),
        (RevokeAdminToken, user_handlers.revoke_admin_token),
        (ProvisionUser, directory_handlers.provision_user),
        (UpdateProvisionedUser, directory_handlers.update_provisioned_user),
        (DeleteProvisionedUser, directory_handlers.delete_provisioned_user),
        (CreateGroup, directory_handlers.create_group),
        (ChangeGroup, directory_handlers.change_group),
        (DeleteGroup, directory_handlers.delete_group),
        (IssueScimToken, directory_handlers.issue_scim_token),
        (RevokeScimToken, directory_handlers.revoke_scim_token),
        (CreateSsoConnection, sso_handlers.create_sso_connection),
        (ChangeSsoConnection, sso_handlers.change_sso_connection),
        (DeleteSsoConnection, sso_handlers.delete_sso_connection),
        (DeclareSsoConnection, sso_handlers.declare_sso_connection),
        (SignInWithSso, sso_sign_in.sign_in_with_sso),
        (DeclareSignInDomains, sso_handlers.declare_sign_in_domains),
    ):
        registry.handle(command, handler)

    revoked, deactivated = (KeyRevoked, KeyRotated), (UserChanged, UserDeleted)
    if authenticator is not None:
        registry.subscribe(
            revoked, functools.partial(when_key_revoked_forget_key, authenticator=authenticator)
        )
        registry.subscribe(
            deactivated,
            functools.partial(when_user_deactivated_forget_keys, authenticator=authenticator),
        )
        registry.subscribe(
            (BodiesLoggingSet,),
            functools.partial(when_bodies_logging_set_forget_keys, authenticator=authenticator),
        )
    if sessions is None:
        registry.subscribe(deactivated, when_user_deactivated_end_sessions_in_db, rows_only=True)
    else:
        end_sessions: Subscriber = functools.partial(
            when_user_deactivated_end_sessions_in_store, store=sessions
        )
        registry.subscribe(deactivated, end_sessions)
    if broadcast is not None:
        registry.subscribe(revoked, broadcast.when_key_revoked_broadcast)
        registry.subscribe(deactivated, broadcast.when_user_deactivated_broadcast)
