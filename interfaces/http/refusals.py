"""Refused credentials, told to the audit log: counted per surface, reason and client address
(alike refusals are written together, and a refusal that goes on less and less often, so a
flood costs a handful of rows). The key prefix a refused credential shows is kept when all of
one row's credentials showed the same (a client retrying one bad key); a row of different
prefixes (random keys) names none (`mixed`). Only the prefix a key shows at creation is kept,
never more of a secret; anything not shaped like one of our keys or tokens is kept as no prefix.

Each refusal of presented credentials also spends from its address's allowance of refusals
(`RefusalThrottle`): an address past it is answered 429 before any lookup (`throttled`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection

from domains.teams.events import AccessRefused
from domains.teams.model import KEY_PREFIX_LENGTH, looks_like_virtual_key
from domains.teams.scim_tokens import SCIM_TOKEN_PREFIX_LENGTH, looks_like_scim_token
from domains.teams.users import ADMIN_TOKEN_PREFIX_LENGTH, looks_like_admin_token
from interfaces.bootstrap import Container
from interfaces.http.container import client_host, container_of

MIXED = "mixed"  # the prefix of a row whose refused credentials showed different ones
THROTTLED = "throttled"
UNCOUNTED = frozenset({"missing", THROTTLED})  # refusals that cost no lookup


def shown_prefix(token: str | None) -> str:
    if token is None:
        return ""
    if looks_like_virtual_key(token):
        return token[:KEY_PREFIX_LENGTH]
    if looks_like_admin_token(token):
        return token[:ADMIN_TOKEN_PREFIX_LENGTH]
    if looks_like_scim_token(token):
        return token[:SCIM_TOKEN_PREFIX_LENGTH]
    return ""


def note_refused(
    connection: ASGIConnection[Any, Any, Any, Any], surface: str, token: str | None, reason: str
) -> None:
    # told from guards and WebSocket handshakes, which have the connection, no dependencies
    note_refused_to(container_of(connection), client_host(connection), surface, token, reason)


def note_refused_to(
    container: Container, client: str | None, surface: str, token: str | None, reason: str
) -> None:
    prefix = shown_prefix(token)
    source_ip = "unknown" if client is None else client

    def made_with(shown: str) -> Any:
        def make(count: int, first: datetime, last: datetime) -> AccessRefused:
            return AccessRefused(
                surface=surface,
                prefix=shown,
                reason=reason,
                source_ip=source_ip,
                count=count,
                first_at=first,
                last_at=last,
            )

        return make

    container.access_refusals.note(
        ("access", surface, reason, source_ip),
        made_with(prefix),
        variant=prefix,
        mixed=made_with(MIXED),
    )
    if reason not in UNCOUNTED:
        container.refusal_throttle.refused(source_ip)


def throttled_for(container: Container, client: str | None, surface: str) -> int | None:
    """None when the client's address may still have credentials refused; else the seconds it
    is to wait (its request is refused now, counted, without looking anything up)."""
    source_ip = "unknown" if client is None else client
    wait = container.refusal_throttle.retry_after(source_ip)
    if wait is not None:
        note_refused_to(container, client, surface, None, THROTTLED)
    return wait


def throttled(connection: ASGIConnection[Any, Any, Any, Any], surface: str) -> int | None:
    # asked from guards and WebSocket handshakes, which have the connection, no dependencies
    return throttled_for(container_of(connection), client_host(connection), surface)


def throttled_message(wait: int) -> str:
    return (
        "Too many refused credentials from your address; try again in "
        f"{wait} second{'' if wait == 1 else 's'}."
    )
