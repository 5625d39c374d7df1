"""Reaching the composition root from a request."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection

from interfaces.bootstrap import Container


def container_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Container:
    return cast(Container, connection.app.state.container)


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return str(connection.scope.get("state", {}).get("request_id", ""))


def client_host(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.client.host if connection.client is not None else None


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any], *, x_api_key: bool) -> str | None:
    return token_of(
        connection.headers.get("authorization"),
        connection.headers.get("x-api-key") if x_api_key else None,
    )


def token_of(authorization: str | None, x_api_key: str | None) -> str | None:
    """The credential in `Authorization: Bearer <token>`, else in `x-api-key` (when given)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None
