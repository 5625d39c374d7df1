"""The principal the admin guard authenticated (its rules: `application.teams.access`)."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection

from application.teams.access import ROOT, ROOT_ACTOR, Principal, no_such

__all__ = ["ROOT", "ROOT_ACTOR", "Principal", "no_such", "principal_of"]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal the admin guard authenticated for this request."""
    return cast(Principal, connection.scope["state"]["principal"])
