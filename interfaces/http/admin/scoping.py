"""Finding what an admin call names, as its caller may see it.

Each lookup answers the same 404 for an id that does not exist and for one in an org the caller
does not see, so ids of other orgs cannot be probed. Role checks come after, as 403s.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from infrastructure.read_models import directory_query as directory
from infrastructure.read_models.directory_query import (
    AdminTokenView,
    KeyView,
    OrgView,
    TeamView,
    UserView,
)
from interfaces.http.admin.principal import Principal, no_such, principal_of
from interfaces.http.container import container_of
from interfaces.http.errors import ApiError

AnyRequest = Request[Any, Any, Any]


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, code="forbidden")


def listed_org(principal: Principal, org_id: str | None) -> str | None:
    """The org a list or a report covers: a person's own org (naming another is a 404); for
    the admin key, the org asked for, or every org (None)."""
    if principal.org_id is None:
        return org_id
    if org_id is not None and org_id != principal.org_id:
        raise no_such("org")
    return principal.org_id


async def visible_org(request: AnyRequest, org_id: str) -> str:
    if not principal_of(request).sees(org_id) or not await directory.org_exists(
        container_of(request).engine, org_id
    ):
        raise no_such("org")
    return org_id


async def visible_org_view(request: AnyRequest, org_id: str) -> OrgView:
    org = None
    if principal_of(request).sees(org_id):
        org = await directory.org_by_id(container_of(request).engine, org_id)
    if org is None:
        raise no_such("org")
    return org


async def visible_team(request: AnyRequest, team_id: str) -> TeamView:
    team = await directory.team_by_id(container_of(request).engine, team_id)
    if team is None or not principal_of(request).sees(team.org_id):
        raise no_such("team")
    return team


async def visible_key(request: AnyRequest, key_id: str) -> KeyView:
    key = await directory.key_by_id(container_of(request).engine, key_id)
    if key is None or not principal_of(request).sees(key.org_id):
        raise no_such("key")
    return key


async def visible_user(request: AnyRequest, user_id: str) -> UserView:
    user = await directory.user_by_id(container_of(request).engine, user_id)
    if user is None or not principal_of(request).sees(user.org_id):
        raise no_such("user")
    return user


async def visible_admin_token(request: AnyRequest, token_id: str) -> AdminTokenView:
    token = await directory.admin_token_by_id(container_of(request).engine, token_id)
    if token is None or not principal_of(request).sees(token.org_id):
        raise no_such("admin token")
    return token


def require_key_change(principal: Principal, key: KeyView) -> None:
    """Owners and admins change their org's keys; members their own; viewers none."""
    principal.require_read(key.org_id, "key")
    if principal.role == "viewer":
        raise forbidden("The role 'viewer' may not change keys.")
    if principal.role == "member" and (key.user_id is None or key.user_id != principal.user_id):
        raise forbidden("A member may change their own keys only.")
