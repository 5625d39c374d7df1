"""Who is on a WebSocket connection: a virtual key on the upgrade (`Authorization: Bearer`,
`x-api-key`), a dashboard session cookie (billed to one of the person's own keys), or, for
browsers that cannot set headers, a first message `{"type": "auth", "key": …}` within
`websocket.auth_timeout` seconds. Anything else is closed with 4401 (4403 for a session from
another site's page or without a key of its person's); refusals are audited like those on /v1
(counted, never with the secret).

The caller is asked for again before every generation, so a key revoked while its connection is
open is refused from its next `chat.start` on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import WebSocket

from application.teams.sessions import SessionAuthenticator
from domains.shared.caller import Caller
from domains.shared.errors import DomainError
from domains.teams.model import looks_like_virtual_key
from interfaces.http.container import bearer_token
from interfaces.http.errors import ApiError, openai_error_of
from interfaces.http.refusals import note_refused, throttled, throttled_message
from interfaces.http.sso.web import base_url
from interfaces.ws.decoding import BadMessage, frame_bytes, read_message
from interfaces.ws.errors import error_out
from interfaces.ws.messages import Auth, encode
from interfaces.ws.services import ChatServices

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
TOO_MANY = "too_many_refused_credentials"
SURFACE = "ws"

Recheck = Callable[[], Awaitable[Caller | None]]


async def authenticate(
    socket: WebSocket[Any, Any, Any], services: ChatServices
) -> tuple[Caller, Recheck] | None:
    """The caller and how to ask again; None once the connection has been refused and closed."""
    secret = bearer_token(socket, x_api_key=True)
    if secret is None:
        sessions = services.sessions
        session = socket.cookies.get(sessions.cookie_name) if sessions is not None else None
        if sessions is not None and session:
            return await _with_session(socket, sessions, session)
        secret = await _key_from_first_message(socket, services)
        if secret is None:
            return None
    return await _with_key(socket, services, secret)


async def _with_session(
    socket: WebSocket[Any, Any, Any], sessions: SessionAuthenticator, session: str
) -> tuple[Caller, Recheck] | None:
    """A browser's dashboard session: from the gateway's own pages only (a browser names the
    page's origin on every upgrade, and another site's page could otherwise chat on the signed-in
    person's account), billed to one of the person's own keys."""
    origin = socket.headers.get("origin")
    if origin is not None and origin.rstrip("/") != base_url(socket):
        note_refused(socket, SURFACE, None, "origin")
        await refuse(
            socket,
            "A dashboard session may open the chat only from the gateway's own pages.",
            code="cross_origin",
            status=403,
        )
        return None
    if wait := throttled(socket, SURFACE):
        await refuse(socket, throttled_message(wait), code=TOO_MANY, status=429)
        return None
    key_id = socket.query_params.get("key_id") or None
    try:
        caller = await sessions.caller_for_session(session, key_id)
    except DomainError as error:
        note_refused(socket, SURFACE, None, "session_key")
        status, _, _ = openai_error_of(error)
        await refuse(socket, error.message, code=error.code, status=status)
        return None
    if caller is None:
        note_refused(socket, SURFACE, None, "session")
        await refuse(
            socket, "The dashboard session is not valid; sign in again.", code="invalid_session"
        )
        return None
    chosen = caller.key_id

    async def recheck() -> Caller | None:
        try:
            return await sessions.caller_for_session(session, chosen)
        except DomainError:
            return None  # the key was revoked or expired since

    return caller, recheck


async def _with_key(
    socket: WebSocket[Any, Any, Any], services: ChatServices, secret: str
) -> tuple[Caller, Recheck] | None:
    found = await check_key(socket, services, secret)
    if isinstance(found, ApiError):
        await refuse(socket, found.message, code=found.code or TOO_MANY, status=found.status)
        return None
    return found


async def check_key(
    socket: WebSocket[Any, Any, Any], services: ChatServices, secret: str
) -> tuple[Caller, Recheck] | ApiError:
    """The caller a virtual key names and how to ask again, or why it is refused (401
    `invalid_api_key`; 429 `too_many_refused_credentials` for an address that had too many
    refused), the refusal audited and counted; nothing is sent to the client."""
    authenticator = services.authenticator
    if not authenticator.knows(secret) and (wait := throttled(socket, SURFACE)):
        return ApiError(429, throttled_message(wait), code=TOO_MANY, headers=_retry(wait))
    caller = await authenticator.authenticate(secret)
    if caller is None:
        reason = "invalid" if looks_like_virtual_key(secret) else "malformed"
        note_refused(socket, SURFACE, secret, reason)
        return ApiError(
            401, "Incorrect API key provided, or the key was revoked.", code="invalid_api_key"
        )
    return caller, lambda: authenticator.authenticate(secret)


def _retry(wait: int) -> dict[str, str]:
    return {"Retry-After": str(wait)}


async def _key_from_first_message(
    socket: WebSocket[Any, Any, Any], services: ChatServices
) -> str | None:
    settings = services.settings.websocket
    try:
        async with asyncio.timeout(settings.auth_timeout):
            event = await socket.receive()
    except TimeoutError:
        note_refused(socket, SURFACE, None, "missing")
        await refuse(
            socket,
            "No credentials: send `Authorization: Bearer <key>` on the upgrade, or "
            f'`{{"type": "auth", "key": "<key>"}}` within {settings.auth_timeout:g} s.',
            code="missing_api_key",
        )
        return None
    if event["type"] != "websocket.receive":
        return None  # the client went away first
    try:
        message, _ = read_message(frame_bytes(dict(event)), settings.max_message_bytes)
    except BadMessage:
        message = None
    if not isinstance(message, Auth):
        note_refused(socket, SURFACE, None, "missing")
        await refuse(
            socket,
            'Authenticate first: the first message must be `{"type": "auth", "key": "<key>"}` '
            "when the upgrade carries no key.",
            code="missing_api_key",
        )
        return None
    return message.key


async def refuse(
    socket: WebSocket[Any, Any, Any],
    message: str,
    *,
    code: str = "invalid_api_key",
    status: int = 401,
) -> None:
    """Tells the client why in an `error` message, then closes: 4401 when it is not
    authenticated, 4429 when its address had too many credentials refused or its key holds as
    many connections as it may, 4403 when it is authenticated but may not chat this way."""
    if status == 401:
        close = (CLOSE_UNAUTHENTICATED, "unauthenticated")
    elif status == 429:
        reason = "too many refused credentials" if code == TOO_MANY else "too many connections"
        close = (CLOSE_TOO_MANY, reason)
    else:
        close = (CLOSE_FORBIDDEN, "forbidden")
    with contextlib.suppress(Exception):  # the client may be gone already
        await socket.send_text(encode(error_out(ApiError(status, message, code=code))))
        await socket.close(*close)
