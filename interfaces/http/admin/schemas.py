"""Admin API bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domains.teams.management import MAX_METADATA_BYTES, MAX_METADATA_KEYS

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S")]
Id = Annotated[str, Meta(min_length=1, max_length=64)]
Metadata = Annotated[
    dict[str, Any],
    Meta(
        max_length=MAX_METADATA_KEYS,
        description=f"a JSON object of your own, at most {MAX_METADATA_BYTES} bytes as JSON; "
        "it replaces the whole object ({} clears it)",
    ),
]


class CreateOrgBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class OrgOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    created_at: datetime
    metadata: dict[str, Any]
    deleted_at: datetime | None


class CreateTeamBody(msgspec.Struct, forbid_unknown_fields=True):
    org_id: Id
    name: Name


class TeamOut(msgspec.Struct, kw_only=True):
    id: str
    org_id: str
    name: str
    created_at: datetime
    metadata: dict[str, Any]
    deleted_at: datetime | None


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


class KeyOut(msgspec.Struct, kw_only=True):
    """A key's record: never its secret or the secret's hash."""

    id: str
    prefix: str
    name: str
    team_id: str
    org_id: str
    user_id: str | None
    models: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool  # neither revoked nor expired
    metadata: dict[str, Any]


class OrgPageOut(msgspec.Struct):
    rows: list[OrgOut]
    next_after_id: str | None


class TeamPageOut(msgspec.Struct):
    rows: list[TeamOut]
    next_after_id: str | None


class KeyPageOut(msgspec.Struct):
    rows: list[KeyOut]
    next_after_id: str | None


class ChangeBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new name, new metadata, or both; what is left out stays as it is."""

    name: Name | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


class OrgDeletedOut(msgspec.Struct):
    id: str
    deleted: bool


class TeamDeletedOut(msgspec.Struct):
    id: str
    deleted: bool
    revoked_keys: list[str]
