"""`scim`: provisioning people and teams from a directory (docs/scim.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import Invalid, NotBlank, Role


class ScimGroupMapping(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A directory group (by its name, case-insensitively) linked to another team, or granting
    a role instead; `org` (an org id) limits the mapping to that org."""

    group: str
    team: NotBlank | None = None
    role: Role | None = None
    org: str | None = None

    def __post_init__(self) -> None:
        if (self.team is None) == (self.role is None):
            raise Invalid("", "must name either a `team` or a `role`")


class ScimSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """SCIM provisioning (docs/scim.md)."""

    default_role: Role = "member"
    """The role of a person the directory provisions, unless a group grants another."""
    groups: list[ScimGroupMapping] = msgspec.field(default_factory=list)
    """Groups linked to a team of another name, or granting a role; any other group is linked
    to the team of its own name (created if need be)."""
    max_patch_operations: Annotated[int, Meta(ge=1, le=100_000)] = 1000
    """The most operations one PATCH may carry; more are refused with a 400 `tooMany`."""
    max_filter_length: Annotated[int, Meta(ge=16, le=1_000_000)] = 2000
    """The longest `filter` a search may carry, in characters; a longer one is a 400
    `invalidFilter`."""
    max_request_bytes: Annotated[int, Meta(ge=1024, le=1 << 30)] = 1048576
    """The largest SCIM request body; a larger one is refused with a SCIM 413."""
