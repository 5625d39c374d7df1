"""What can be asked of the teams context."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from domains.shared.events import Command


class CreateOrg(Command, frozen=True, kw_only=True):
    name: str
    actor: str


class CreateTeam(Command, frozen=True, kw_only=True):
    org_id: str
    name: str
    actor: str


class IssueKey(Command, frozen=True, kw_only=True):
    team_id: str
    name: str
    actor: str
    user_id: str | None = None
    models: tuple[str, ...] | None = None
    expires_at: datetime | None = None


class RevokeKey(Command, frozen=True, kw_only=True):
    key_id: str
    actor: str


class RotateKey(Command, frozen=True, kw_only=True):
    key_id: str
    actor: str
    grace_seconds: int


class ChangeOrg(Command, frozen=True, kw_only=True):
    """What is None stays as it is; `metadata` replaces the org's whole."""

    org_id: str
    actor: str
    name: str | None = None
    metadata: dict[str, Any] | None = None


class DeleteOrg(Command, frozen=True, kw_only=True):
    org_id: str
    actor: str


class ChangeTeam(Command, frozen=True, kw_only=True):
    team_id: str
    actor: str
    name: str | None = None
    metadata: dict[str, Any] | None = None


class SetBodiesLogging(Command, frozen=True, kw_only=True):
    """Opt a team (`scope` team) or a key in or out of keeping its calls' bodies."""

    scope: Literal["team", "key"]
    target_id: str
    enabled: bool
    actor: str


class DeleteTeam(Command, frozen=True, kw_only=True):
    team_id: str
    actor: str


class ChangeKey(Command, frozen=True, kw_only=True):
    key_id: str
    actor: str
    name: str | None = None
    metadata: dict[str, Any] | None = None
