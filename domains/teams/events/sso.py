"""Single sign-on: an org's connections, and people signing in and out through them. Never
a client secret, a token or an assertion."""

from __future__ import annotations

from datetime import datetime

from domains.shared.events import Event


class SsoConnectionCreated(Event, frozen=True, kw_only=True, tag=True):
    """An org's single sign-on connection (`kind` "oidc" or "saml"). Never carries the client
    secret or any key: `settings` are the connection's public settings only."""

    connection_id: str
    org_id: str
    kind: str
    settings: dict[str, object]
    actor: str


class SsoConnectionChanged(Event, frozen=True, kw_only=True, tag=True):
    """Which settings changed (their names; a new client secret is named, never shown) and the
    public values after."""

    connection_id: str
    org_id: str
    changed: tuple[str, ...]
    settings: dict[str, object]
    actor: str


class SsoConnectionDeleted(Event, frozen=True, kw_only=True, tag=True):
    connection_id: str
    org_id: str
    actor: str


class SignedIn(Event, frozen=True, kw_only=True, tag=True):
    """A person signed in to the dashboard through an org's SSO connection (`provisioned`: the
    sign-in created them)."""

    user_id: str
    org_id: str
    connection_id: str
    kind: str
    subject: str
    provisioned: bool
    source_ip: str


class SignInFailed(Event, frozen=True, kw_only=True, tag=True):
    """Sign-ins refused alike (same connection, reason and address) are counted together:
    `count` of them between `first_at` and `last_at`. `reason` is a short code, never a secret,
    a token or an assertion."""

    connection_id: str
    reason: str
    source_ip: str
    count: int
    first_at: datetime
    last_at: datetime


class SignedOut(Event, frozen=True, kw_only=True, tag=True):
    user_id: str
    org_id: str
    connection_id: str
    source_ip: str


class SsoIdentityLinked(Event, frozen=True, kw_only=True, tag=True):
    """A connection's subject was linked to a person of the org, and on what ground: `created`
    (the sign-in created them), `scim` (the directory provisioned them) or `domain` (their
    address is of a domain the org declares)."""

    user_id: str
    org_id: str
    connection_id: str
    subject: str
    basis: str


class SsoRoleCapped(Event, frozen=True, kw_only=True, tag=True):
    """A sign-in would have given `wanted` (the connection's default role or its groups'), above
    what the connection may grant (`reach`: the role of whoever set it, as they are now): the
    person got `granted` instead."""

    user_id: str
    org_id: str
    connection_id: str
    wanted: str
    granted: str
    reach: str


EVENTS: tuple[type[Event], ...] = (
    SsoConnectionCreated,
    SsoConnectionChanged,
    SsoConnectionDeleted,
    SignedIn,
    SignInFailed,
    SignedOut,
    SsoIdentityLinked,
    SsoRoleCapped,
)
