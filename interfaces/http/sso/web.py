"""What the sign-in routes share: the gateway's own address, where a sign-in may return to,
the cookies it sets, and refusing a sign-in (told to the audit log, counted like other
refusals, never with a token, a code or an assertion in it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from domains.teams.events import SignInFailed
from interfaces.http.container import container_of
from interfaces.http.errors import ApiError

AnyConnection = ASGIConnection[Any, Any, Any, Any]


def base_url(connection: AnyConnection) -> str:
    """`server.public_url` when configured, else the origin the request came to (a WebSocket's
    `ws://` as the `http://` its page was served from)."""
    # asked from the admin guard too, which has the connection, no dependencies
    public = container_of(connection).settings.server.public_url
    if public:
        return public.rstrip("/")
    url = connection.url
    return f"{_PAGE_SCHEME.get(url.scheme, url.scheme)}://{url.netloc}"


_PAGE_SCHEME = {"ws": "http", "wss": "https"}


def is_https(connection: AnyConnection) -> bool:
    return base_url(connection).startswith("https://")


def safe_next(value: str | None) -> str:
    """A path on this site to return to after signing in; anything that could lead elsewhere
    (another host, a scheme, `//host`, backslashes, control characters) is refused."""
    if value is None or value == "":
        return "/"
    refused = ApiError(400, "`next` must be a path on this site, like /dashboard.", code="bad_next")
    if len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        raise refused
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise refused
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        raise refused
    return value


def cookie(
    connection: AnyConnection,
    name: str,
    value: str,
    *,
    max_age: int | None,
    http_only: bool = True,
    path: str = "/",
) -> Cookie:
    """SameSite=Lax, HttpOnly unless said otherwise, Secure whenever the gateway is reached
    over HTTPS (not on plain-HTTP loopback, where a browser would drop it)."""
    return Cookie(
        key=name,
        value=value,
        max_age=max_age,
        path=path,
        httponly=http_only,
        samesite="lax",
        secure=is_https(connection),
    )


def expired_cookie(connection: AnyConnection, name: str, *, path: str = "/") -> Cookie:
    return Cookie(
        key=name, value="", max_age=0, path=path, samesite="lax", secure=is_https(connection)
    )


def source_ip(connection: AnyConnection) -> str:
    return connection.client.host if connection.client is not None else "unknown"


def refuse_sign_in(
    connection: AnyConnection, connection_id: str, reason: str, message: str, status: int = 400
) -> ApiError:
    """Notes the refusal for the audit log and gives the error to raise."""
    ip = source_ip(connection)

    def make(count: int, first: datetime, last: datetime) -> SignInFailed:
        return SignInFailed(
            connection_id=connection_id,
            reason=reason,
            source_ip=ip,
            count=count,
            first_at=first,
            last_at=last,
        )

    # from deep in the sign-in steps, which pass the connection on, not the refusals log
    container_of(connection).refusals.note(("sso", connection_id, reason, ip), make)
    return ApiError(status, f"Sign-in refused: {message}", code=reason)
