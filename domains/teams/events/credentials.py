"""Credentials: virtual keys, admin tokens, and the credentials refused at the door.
Never a key's or a token's secret or its hash: `prefix` is the part shown at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domains.shared.events import Event


class KeyIssued(Event, frozen=True, kw_only=True, tag=True):
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    name: str
    prefix: str
    models: tuple[str, ...] | None
    actor: str
    expires_at: datetime | None = None


class KeyRevoked(Event, frozen=True, kw_only=True, tag=True):
    key_id: str
    team_id: str
    org_id: str
    actor: str


class KeyRotated(Event, frozen=True, kw_only=True, tag=True):
    """A new key replaced this one, which stays valid until `expires_at` (the grace period)."""

    key_id: str
    new_key_id: str
    team_id: str
    org_id: str
    expires_at: datetime
    actor: str


class KeyChanged(Event, frozen=True, kw_only=True, tag=True):
    """A key's name or metadata changed: the values after, and which changed."""

    key_id: str
    team_id: str
    org_id: str
    name: str
    metadata: dict[str, Any]
    changed: tuple[str, ...]
    actor: str


class AdminTokenIssued(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    user_id: str
    org_id: str
    prefix: str
    actor: str


class AdminTokenRevoked(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    user_id: str
    org_id: str
    actor: str


class AccessRefused(Event, frozen=True, kw_only=True, tag=True):
    """Credentials were refused: on `/v1` a virtual key, on `/admin` an admin key or token.
    Refusals alike (same surface, key prefix, reason and address) are counted together, so
    `count` of them happened between `first_at` and `last_at`. Never carries a secret: `prefix`
    is the part of a key shown at creation ("fr-" and eight characters), or empty."""

    surface: str  # "v1" | "admin" | "ws" (the WebSocket chat)
    prefix: str
    # "invalid" | "expired" | "malformed" | "missing" | "session" | "origin" | "session_key"
    reason: str
    source_ip: str
    count: int
    first_at: datetime
    last_at: datetime


EVENTS: tuple[type[Event], ...] = (
    KeyIssued,
    KeyRevoked,
    KeyRotated,
    KeyChanged,
    AdminTokenIssued,
    AdminTokenRevoked,
    AccessRefused,
)
