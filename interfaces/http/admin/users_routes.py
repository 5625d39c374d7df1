"""Users of an org and their admin tokens.

Everyone in an org reads its users. Owners and admins add and change them, and issue and revoke
their tokens; an admin may neither grant the owner role nor act on an owner. Anyone may revoke
their own tokens. The org's last active owner is neither demoted nor deactivated (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter

from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from domains.teams.users import AdminToken, User, as_role, may_grant
from infrastructure.read_models.directory_query import (
    AdminTokenView,
    UserView,
    admin_tokens_of,
    users_of,
)
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.principal import Principal, principal_of
from interfaces.http.admin.scoping import (
    forbidden,
    listed_org,
    visible_admin_token,
    visible_org,
    visible_user,
)
from interfaces.http.admin.users_schemas import (
    AdminTokenCreatedOut,
    AdminTokenOut,
    AdminTokenRevokedOut,
    ChangeUserBody,
    CreateUserBody,
    IssueAdminTokenBody,
    UserOut,
)
from interfaces.http.container import container_of

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


def require_acting_on(principal: Principal, user: UserView) -> None:
    """403 unless the principal manages the user's org and outranks or equals the user."""
    principal.require_manage(user.org_id, "user")
    if not may_grant(principal.role, as_role(user.role)):
        raise forbidden(
            f"The role {principal.role!r} may not act on a user whose role is {user.role!r}."
        )


def require_granting(principal: Principal, role: str) -> None:
    if not may_grant(principal.role, as_role(role)):
        raise forbidden(f"The role {principal.role!r} may not grant the role {role!r}.")


class UsersController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: users"]

    @post("/users", status_code=201, summary="Add a user to an org, with a role")
    async def create_user(self, request: Request[Any, Any, Any], data: CreateUserBody) -> UserOut:
        principal = principal_of(request)
        await visible_org(request, data.org_id)
        principal.require_manage(data.org_id, "org")
        require_granting(principal, data.role)
        user: User = await container_of(request).bus.handle(
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
        self, request: Request[Any, Any, Any], org_id: QueryId | None = None
    ) -> list[UserOut]:
        org = listed_org(principal_of(request), org_id)
        return [user_out(user) for user in await users_of(container_of(request).engine, org)]

    @get("/users/{user_id:str}", summary="One user")
    async def get_user(self, request: Request[Any, Any, Any], user_id: str) -> UserOut:
        return user_out(await visible_user(request, user_id))

    @patch("/users/{user_id:str}", summary="Change a user's role, active flag or display name")
    async def change_user(
        self, request: Request[Any, Any, Any], user_id: str, data: ChangeUserBody
    ) -> UserOut:
        principal = principal_of(request)
        require_acting_on(principal, await visible_user(request, user_id))
        if isinstance(data.role, str):
            require_granting(principal, data.role)
        user: User = await container_of(request).bus.handle(
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
        self, request: Request[Any, Any, Any], user_id: str
    ) -> list[AdminTokenOut]:
        principal = principal_of(request)
        user = await visible_user(request, user_id)
        if user.id != principal.user_id:
            require_acting_on(principal, user)
        tokens = await admin_tokens_of(container_of(request).engine, user.id)
        return [token_out(token) for token in tokens]

    @post(
        "/users/{user_id:str}/tokens",
        status_code=201,
        summary="Issue an admin token for a user (its secret is in this answer only)",
    )
    async def issue_token(
        self, request: Request[Any, Any, Any], user_id: str, data: IssueAdminTokenBody
    ) -> AdminTokenCreatedOut:
        principal = principal_of(request)
        require_acting_on(principal, await visible_user(request, user_id))
        token: AdminToken
        token, secret = await container_of(request).bus.handle(
            IssueAdminToken(user_id=user_id, actor=principal.actor)
        )
        return AdminTokenCreatedOut(
            id=token.id, token=secret, prefix=token.prefix, user_id=token.user_id
        )

    @delete("/admin-tokens/{token_id:str}", status_code=200, summary="Revoke an admin token")
    async def revoke_token(
        self, request: Request[Any, Any, Any], token_id: str
    ) -> AdminTokenRevokedOut:
        principal = principal_of(request)
        found = await visible_admin_token(request, token_id)
        if found.user_id != principal.user_id:
            require_acting_on(principal, await visible_user(request, found.user_id))
        token: AdminToken = await container_of(request).bus.handle(
            RevokeAdminToken(token_id=token_id, actor=principal.actor)
        )
        return AdminTokenRevokedOut(id=token.id, revoked=token.revoked)
