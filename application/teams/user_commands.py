"""What can be asked of the teams context about people and their admin tokens."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from domains.shared.events import Command


class CreateUser(Command, frozen=True, kw_only=True):
    org_id: str
    email: str
    role: str
    actor: str
    display_name: str | None = None
    external_id: str | None = None


class ChangeUser(Command, frozen=True, kw_only=True):
    """Only the fields given change; `display_name=None` clears the name."""

    user_id: str
    actor: str
    role: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    display_name: str | UnsetType | None = UNSET


class IssueAdminToken(Command, frozen=True, kw_only=True):
    user_id: str
    actor: str


class RevokeAdminToken(Command, frozen=True, kw_only=True):
    token_id: str
    actor: str
