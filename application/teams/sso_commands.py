"""What can be asked of the teams context about single sign-on: connections, and signing in.

A client secret travels here sealed (encrypted by the interface that received it), never in
clear.
"""

from __future__ import annotations

from typing import Any

from domains.shared.events import Command
from domains.teams.sso import Identity


class CreateSsoConnection(Command, frozen=True, kw_only=True):
    org_id: str
    kind: str
    settings: dict[str, Any]  # see `SsoConnection`: issuer, client_id, client_secret_sealed, ...
    actor: str
    actor_role: str  # the most the connection may grant
    connection_id: str | None = None
    declared: bool = False


class ChangeSsoConnection(Command, frozen=True, kw_only=True):
    connection_id: str
    settings: dict[str, Any]  # only what changes
    actor: str
    actor_role: str  # the most the connection may grant from now on


class DeleteSsoConnection(Command, frozen=True, kw_only=True):
    connection_id: str
    actor: str


class DeclareSsoConnection(Command, frozen=True, kw_only=True):
    """A connection the configuration file declares: created, or made what the file says."""

    connection_id: str
    org_id: str
    kind: str
    settings: dict[str, Any]


class SignInWithSso(Command, frozen=True, kw_only=True):
    """The identity provider vouched for `identity`: find or provision the person, bring their
    groups, teams and role up to date, and tell of the sign-in."""

    connection_id: str
    identity: Identity
    source_ip: str


class DeclareSignInDomains(Command, frozen=True, kw_only=True):
    """The e-mail domains the org owns (all of them): a sign-in links a person it finds by an
    address of one of them."""

    org_id: str
    domains: tuple[str, ...]
    actor: str
