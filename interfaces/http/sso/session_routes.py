"""Signing out of the dashboard: `POST /auth/logout` ends the session (everywhere: it is kept
server-side) and clears its cookies. With the session cookie, the CSRF token must come back in
`X-CSRF-Token`, so another site cannot sign a person out."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from application.shared.record_events import RecordEvents
from domains.teams.events import SignedOut
from infrastructure.sso.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from interfaces.http.dependencies import Bus, Sso
from interfaces.http.errors import ApiError
from interfaces.http.sso.web import expired_cookie, source_ip


@post("/auth/logout", status_code=200, summary="Sign out of the dashboard", tags=["SSO"])
async def logout(request: Request[Any, Any, Any], bus: Bus, sso: Sso) -> Response[dict[str, bool]]:
    services = sso
    secret = request.cookies.get(SESSION_COOKIE)
    if services is not None and secret:
        session = await services.sessions.find(secret)
        if session is not None:
            if not services.sessions.csrf_matches(session, request.headers.get(CSRF_HEADER)):
                raise ApiError(403, "Send the CSRF token in `X-CSRF-Token`.", code="csrf")
            await services.sessions.end(secret)
            await bus.handle(
                RecordEvents(
                    events=(
                        SignedOut(
                            user_id=session.user_id,
                            org_id=session.org_id,
                            connection_id=session.connection_id,
                            source_ip=source_ip(request),
                        ),
                    )
                )
            )
    return Response(
        {"signed_out": True},
        cookies=[expired_cookie(request, SESSION_COOKIE), expired_cookie(request, CSRF_COOKIE)],
    )
