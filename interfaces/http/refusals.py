"""Refused credentials, told to the audit log: counted per surface, key prefix, reason and
client address (alike refusals are written together, so a flood costs a few rows a second).
Only the prefix a key shows at creation is kept, never more of a secret; anything not shaped
like one of our keys or tokens is kept as no prefix at all."""

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
    note_refused_to(container_of(connection), client_host(connection), surface, token, reason)


def note_refused_to(
    container: Container, client: str | None, surface: str, token: str | None, reason: str
) -> None:
    prefix = shown_prefix(token)
    source_ip = "unknown" if client is None else client

    def make(count: int, first: datetime, last: datetime) -> AccessRefused:
        return AccessRefused(
            surface=surface,
            prefix=prefix,
            reason=reason,
            source_ip=source_ip,
            count=count,
            first_at=first,
            last_at=last,
        )

    container.refusals.note(("access", surface, prefix, reason, source_ip), make)
