"""The admin API for a browser signed in through SSO: the session cookie as a principal.

The session is looked up in the shared store on every request, and the person's role and
active flag are read afresh, as for an admin token. Calls that change something (any method but
GET, HEAD and OPTIONS) must also carry the session's CSRF token in `X-CSRF-Token` (the double
submit: another site can make the browser send the cookie, not read the token), and, when the
browser names an `Origin`, it must be the gateway's own.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from domains.teams.users import as_role
from infrastructure.queries.directory import user_by_id
from infrastructure.sso.sessions import CSRF_HEADER, SESSION_COOKIE
from interfaces.http.admin.principal import Principal
from interfaces.http.container import container_of
from interfaces.http.errors import ApiError
from interfaces.http.refusals import note_refused
from interfaces.http.sso.web import base_url

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def session_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The person behind the session cookie; None when the request carries none."""
    container = container_of(connection)  # the admin guard's step: it has no dependencies
    secret = connection.cookies.get(SESSION_COOKIE)
    if container.sso is None or not secret:
        return None
    sessions = container.sso.sessions
    session = await sessions.find(secret)
    user = await user_by_id(container.engine, session.user_id) if session is not None else None
    if session is None or user is None or not user.active or user.deleted_at is not None:
        note_refused(connection, "admin", None, "session")
        raise ApiError(
            401,
            "The dashboard session is not valid; sign in again.",
            code="invalid_session",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if connection.scope.get("method", "GET") not in SAFE_METHODS:
        origin = connection.headers.get("origin")
        if origin is not None and origin.rstrip("/") != base_url(connection):
            raise ApiError(403, "The request comes from another site.", code="csrf")
        if not sessions.csrf_matches(session, connection.headers.get(CSRF_HEADER)):
            raise ApiError(403, "Send the session's CSRF token in `X-CSRF-Token`.", code="csrf")
    connection.scope.setdefault("state", {})["session"] = session
    return Principal(
        actor=f"user:{user.id}", role=as_role(user.role), org_id=user.org_id, user_id=user.id
    )
