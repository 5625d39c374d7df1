"""The end of every sign-in, whichever the protocol: the teams context finds or provisions the
person (or refuses them), a session starts, and the browser returns to where it was going with
the session cookie (HttpOnly) and the CSRF token's cookie (readable by the dashboard's script).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect

from application.bus import MessageBus
from application.teams.sso_commands import SignInWithSso
from application.teams.sso_sign_in import SignInRefused
from domains.teams.users import User
from infrastructure.sso.sessions import CSRF_COOKIE, SESSION_COOKIE
from interfaces.http.sso.web import cookie, refuse_sign_in
from interfaces.sso_wiring import SsoServices


async def sign_in(
    request: Request[Any, Any, Any],
    bus: MessageBus,
    services: SsoServices,
    command: SignInWithSso,
    back_to: str,
) -> Redirect:
    try:
        user: User = await bus.handle(command)
    except SignInRefused as refused:
        raise refuse_sign_in(
            request, command.connection_id, refused.reason, refused.message, 403
        ) from None
    secret, csrf = await services.sessions.start(
        user_id=user.id, org_id=user.org_id, connection_id=command.connection_id
    )
    max_age = int(services.sessions.absolute)
    return Redirect(
        back_to,
        status_code=303,
        cookies=[
            cookie(request, SESSION_COOKIE, secret, max_age=max_age),
            cookie(request, CSRF_COOKIE, csrf, max_age=max_age, http_only=False),
        ],
    )
