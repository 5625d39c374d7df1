"""Admin authentication: the admin key as a bearer token."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from infrastructure.security.admin_key import matches
from interfaces.http.container import bearer_token, container_of
from interfaces.http.errors import ApiError

ADMIN_ACTOR = "admin"


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    token = bearer_token(connection, x_api_key=False)
    expected = container_of(connection).admin_digest
    if token is None:
        raise ApiError(
            401,
            "Send the admin key as `Authorization: Bearer <key>`.",
            code="missing_credentials",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if expected is None or not matches(token, expected):
        raise ApiError(
            401,
            "The admin key is not valid.",
            code="invalid_credentials",
            headers={"WWW-Authenticate": "Bearer"},
        )
