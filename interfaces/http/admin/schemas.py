"""Admin API bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S")]
Id = Annotated[str, Meta(min_length=1, max_length=64)]


class CreateOrgBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class OrgOut(msgspec.Struct):
    id: str
    name: str


class CreateTeamBody(msgspec.Struct, forbid_unknown_fields=True):
    org_id: Id
    name: Name


class TeamOut(msgspec.Struct):
    id: str
    org_id: str
    name: str


class CreateKeyBody(msgspec.Struct, forbid_unknown_fields=True):
    team_id: Id
    name: Name
    user_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None  # RFC 3339, with an offset
    models: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=256)]], Meta(max_length=1000)]
        | None
    ) = None


class KeyCreatedOut(msgspec.Struct):
    id: str
    key: str
    prefix: str
    team_id: str


class RotateKeyBody(msgspec.Struct, forbid_unknown_fields=True):
    # how long the old key keeps working: up to 30 days; 0 ends it at once
    grace_seconds: Annotated[int, Meta(ge=0, le=30 * 86400)] = 3600


class KeyRotatedOut(msgspec.Struct):
    id: str
    key: str
    prefix: str
    team_id: str
    previous_key_id: str
    previous_key_expires_at: datetime | None


class KeyRevokedOut(msgspec.Struct):
    id: str
    revoked: bool
