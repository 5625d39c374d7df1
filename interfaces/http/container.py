"""Reaching the composition root from a request."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection

from interfaces.bootstrap import Container


def container_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Container:
    return cast(Container, connection.app.state.container)


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return str(connection.scope.get("state", {}).get("request_id", ""))


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any], *, x_api_key: bool) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if x_api_key:
        key = connection.headers.get("x-api-key")
        if key and key.strip():
            return key.strip()
    return None
