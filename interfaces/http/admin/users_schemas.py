"""Admin API bodies and answers for users and their admin tokens. An admin token's secret is
only ever in `AdminTokenCreatedOut`, the answer to issuing it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from interfaces.http.admin.schemas import Id

RoleIn = Literal["owner", "admin", "member", "viewer"]
Email = Annotated[
    str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
DisplayName = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]


class CreateUserBody(msgspec.Struct, forbid_unknown_fields=True):
    org_id: Id
    email: Email
    role: RoleIn
    display_name: DisplayName | None = None


class ChangeUserBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Only the fields sent change; `display_name: null` clears the name."""

    role: RoleIn | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    display_name: DisplayName | UnsetType | None = UNSET


class UserOut(msgspec.Struct):
    id: str
    org_id: str
    email: str | None  # None: provisioned by SCIM without an address
    display_name: str | None
    role: str
    active: bool
    external_id: str | None
    created_at: datetime
    user_name: str | None = None  # the identity provider's login name (SCIM)
    deleted_at: datetime | None = None  # deprovisioned: kept for the rows naming the person


class IssueAdminTokenBody(msgspec.Struct, forbid_unknown_fields=True):
    """Nothing to choose yet: the token is its user's, with the user's role."""


class AdminTokenCreatedOut(msgspec.Struct):
    id: str
    token: str
    prefix: str
    user_id: str


class AdminTokenOut(msgspec.Struct):
    id: str
    user_id: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class AdminTokenRevokedOut(msgspec.Struct):
    id: str
    revoked: bool
