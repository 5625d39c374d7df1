"""Admin authentication: the operator's admin key, or a person's admin token, as a bearer token;
or, without one, the session cookie of a person signed in through SSO (see `session_principal`).

The admin key is the root principal (every org). An admin token ("fra-…") is its user's: scoped
to the user's org and bounded by the user's role, both read afresh on every request, so a revoked
token or a deactivated user is refused at once.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domains.teams.users import as_role, looks_like_admin_token
from infrastructure.security.admin_key import matches
from infrastructure.security.admin_tokens import admin_token_holder
from infrastructure.sso.sessions import SESSION_COOKIE
from interfaces.http.admin.principal import ROOT, Principal
from interfaces.http.admin.session_principal import session_principal
from interfaces.http.container import bearer_token, container_of
from interfaces.http.errors import ApiError
from interfaces.http.refusals import note_refused, throttled, throttled_message


def _refused(message: str, code: str) -> ApiError:
    return ApiError(401, message, code=code, headers={"WWW-Authenticate": "Bearer"})


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    token = bearer_token(connection, x_api_key=False)
    container = container_of(connection)  # a guard is given the connection, no dependencies
    expected = container.admin_digest
    if token is not None and expected is not None and matches(token, expected):
        connection.scope.setdefault("state", {})["principal"] = ROOT
        return
    presented = token is not None or bool(connection.cookies.get(SESSION_COOKIE))
    if presented and (wait := throttled(connection, "admin")):
        raise ApiError(
            429,
            throttled_message(wait),
            code="too_many_refused_credentials",
            headers={"Retry-After": str(wait)},
        )
    if token is None and (by_session := await session_principal(connection)) is not None:
        connection.scope.setdefault("state", {})["principal"] = by_session
        return
    if token is None:
        note_refused(connection, "admin", None, "missing")
        raise _refused(
            "Send the admin key or an admin token as `Authorization: Bearer <token>`.",
            "missing_credentials",
        )
    principal: Principal | None = None
    if looks_like_admin_token(token):
        holder = await admin_token_holder(container.engine, token)
        if holder is not None:
            principal = Principal(
                actor=f"user:{holder.user_id}",
                role=as_role(holder.role),
                org_id=holder.org_id,
                user_id=holder.user_id,
            )
    if principal is None:
        note_refused(connection, "admin", token, "invalid")
        raise _refused("The admin key or token is not valid.", "invalid_credentials")
    connection.scope.setdefault("state", {})["principal"] = principal
