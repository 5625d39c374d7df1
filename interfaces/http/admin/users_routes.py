"""Users of an org and their admin tokens.

Everyone in an org reads its users. Owners and admins add and change them, and issue and revoke
their tokens; an admin may neither grant the owner role nor act on an owner. Anyone may revoke
their own tokens. The org's last active owner is neither demoted nor deactivated (409).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from application.teams.access import (
    require_acting_on,
    require_granting,
    require_self_or_acting_on,
)
from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from domains.teams.users import AdminToken, User
from infrastructure.queries.directory import (
    AdminTokenView,
    UserView,
    admin_tokens_of,
    users_of,
)
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.users_schemas import (
    AdminTokenCreatedOut,
    AdminTokenOut,
    AdminTokenRevokedOut,
    ChangeUserBody,
    CreateUserBody,
    IssueAdminTokenBody,
    UserOut,
)
from interfaces.http.dependencies import Bus, Caller, Engine, Visible

QueryId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


def user_out(user: User | UserView) -> UserOut:
    return UserOut(
        id=user.id,
        org_id=user.org_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        active=user.active,
        external_id=user.external_id,
        created_at=user.created_at,
        user_name=user.user_name,
        deleted_at=user.deleted_at,
    )


def token_out(token: AdminTokenView) -> AdminTokenOut:
    return AdminTokenOut(
        id=token.id,
        user_id=token.user_id,
        prefix=token.prefix,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
    )


async def _user_acted_on(visible: Visible, user_id: str) -> UserView:
    """The user, if the caller sees them (404), manages their org and outranks or equals them
    (403)."""
    user = await visible.user(user_id)
    require_acting_on(visible.principal, user.org_id, user.role)
    return user


class UsersController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: users"]

    @post("/users", status_code=201, summary="Add a user to an org, with a role")
    async def create_user(self, bus: Bus, visible: Visible, data: CreateUserBody) -> UserOut:
        principal = visible.principal
        await visible.org(data.org_id)
        principal.require_manage(data.org_id, "org")
        require_granting(principal, data.role)
        user: User = await bus.handle(
            CreateUser(
                org_id=data.org_id,
                email=data.email,
                role=data.role,
                display_name=data.display_name,
                actor=principal.actor,
            )
        )
        return user_out(user)

    @get("/users", summary="The users of an org (a person's own org, unless they name none)")
    async def list_users(
        self, engine: Engine, principal: Caller, org_id: QueryId | None = None
    ) -> list[UserOut]:
        org = principal.listed_org(org_id)
        return [user_out(user) for user in await users_of(engine, org)]

    @get("/users/{user_id:str}", summary="One user")
    async def get_user(self, visible: Visible, user_id: str) -> UserOut:
        return user_out(await visible.user(user_id))

    @patch("/users/{user_id:str}", summary="Change a user's role, active flag or display name")
    async def change_user(
        self, bus: Bus, visible: Visible, user_id: str, data: ChangeUserBody
    ) -> UserOut:
        principal = visible.principal
        await _user_acted_on(visible, user_id)
        if isinstance(data.role, str):
            require_granting(principal, data.role)
        user: User = await bus.handle(
            ChangeUser(
                user_id=user_id,
                actor=principal.actor,
                role=data.role,
                active=data.active,
                display_name=data.display_name,
            )
        )
        return user_out(user)

    @get("/users/{user_id:str}/tokens", summary="A user's admin tokens (never their secrets)")
    async def list_tokens(
        self, engine: Engine, visible: Visible, user_id: str
    ) -> list[AdminTokenOut]:
        user = await visible.user(user_id)
        require_self_or_acting_on(visible.principal, user.id, user.org_id, user.role)
        tokens = await admin_tokens_of(engine, user.id)
        return [token_out(token) for token in tokens]

    @post(
        "/users/{user_id:str}/tokens",
        status_code=201,
        summary="Issue an admin token for a user (its secret is in this answer only)",
    )
    async def issue_token(
        self, bus: Bus, visible: Visible, user_id: str, data: IssueAdminTokenBody
    ) -> AdminTokenCreatedOut:
        await _user_acted_on(visible, user_id)
        token: AdminToken
        token, secret = await bus.handle(
            IssueAdminToken(user_id=user_id, actor=visible.principal.actor)
        )
        return AdminTokenCreatedOut(
            id=token.id, token=secret, prefix=token.prefix, user_id=token.user_id
        )

    @delete("/admin-tokens/{token_id:str}", status_code=200, summary="Revoke an admin token")
    async def revoke_token(self, bus: Bus, visible: Visible, token_id: str) -> AdminTokenRevokedOut:
        principal = visible.principal
        found = await visible.admin_token(token_id)
        if found.user_id != principal.user_id:
            await _user_acted_on(visible, found.user_id)
        token: AdminToken = await bus.handle(
            RevokeAdminToken(token_id=token_id, actor=principal.actor)
        )
        return AdminTokenRevokedOut(id=token.id, revoked=token.revoked)
