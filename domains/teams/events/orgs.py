"""Orgs and their teams: created, changed, deleted; the e-mail domains an org declares."""

from __future__ import annotations

from typing import Any

from domains.shared.events import Event


class OrgCreated(Event, frozen=True, kw_only=True, tag=True):
    org_id: str
    name: str
    actor: str


class OrgChanged(Event, frozen=True, kw_only=True, tag=True):
    """An org's name or metadata changed: the values after, and which changed."""

    org_id: str
    name: str
    metadata: dict[str, Any]
    changed: tuple[str, ...]
    actor: str


class OrgSignInDomainsSet(Event, frozen=True, kw_only=True, tag=True):
    """The e-mail domains the org declares it owns (all of them, after the change): a sign-in
    links a person it finds by an address of one of them."""

    org_id: str
    domains: tuple[str, ...]
    actor: str


class OrgDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The org is deleted: it held no live team, active person, SCIM token or SSO connection.
    Its row stays, so usage and audit rows still name it."""

    org_id: str
    actor: str


class TeamCreated(Event, frozen=True, kw_only=True, tag=True):
    team_id: str
    org_id: str
    name: str
    actor: str


class TeamRenamed(Event, frozen=True, kw_only=True, tag=True):
    team_id: str
    org_id: str
    name: str
    previous_name: str
    actor: str


class TeamChanged(Event, frozen=True, kw_only=True, tag=True):
    """A team's metadata changed (a new name is `TeamRenamed`)."""

    team_id: str
    org_id: str
    metadata: dict[str, Any]
    actor: str


class TeamDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The team is deleted and `revoked_keys` (its keys still unrevoked) are revoked with it,
    each with its own `KeyRevoked`. Its row stays, so usage and audit rows still name it."""

    team_id: str
    org_id: str
    revoked_keys: tuple[str, ...]
    actor: str


EVENTS: tuple[type[Event], ...] = (
    OrgCreated,
    OrgChanged,
    OrgSignInDomainsSet,
    OrgDeleted,
    TeamCreated,
    TeamRenamed,
    TeamChanged,
    TeamDeleted,
)
