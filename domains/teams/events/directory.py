"""The directory an identity provider keeps in sync over SCIM: groups, and the tokens it
uses. Never a token's secret or its hash."""

from __future__ import annotations

from domains.shared.events import Event


class GroupCreated(Event, frozen=True, kw_only=True, tag=True):
    """A directory group, linked to a team (`team_id`) or granting a role (`role`)."""

    group_id: str
    org_id: str
    display_name: str
    external_id: str | None
    team_id: str | None
    role: str | None
    actor: str


class GroupChanged(Event, frozen=True, kw_only=True, tag=True):
    """A group's name or external id changed: the values after, and which changed."""

    group_id: str
    org_id: str
    display_name: str
    external_id: str | None
    changed: tuple[str, ...]
    actor: str


class GroupMembersChanged(Event, frozen=True, kw_only=True, tag=True):
    """People joined or left a group, and so its team (`team_id`) when it is linked to one."""

    group_id: str
    org_id: str
    team_id: str | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    actor: str


class GroupDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The group is gone, and its members with it; the team it was linked to stays."""

    group_id: str
    org_id: str
    team_id: str | None
    members: tuple[str, ...]
    actor: str


class ScimTokenIssued(Event, frozen=True, kw_only=True, tag=True):
    """`role`: the minting principal's role, the most the token acts with (it acts on no one
    who outranks it)."""

    token_id: str
    org_id: str
    prefix: str
    actor: str
    role: str = "admin"  # events recorded before the role was: what the migration assumes


class ScimTokenRevoked(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    org_id: str
    actor: str


EVENTS: tuple[type[Event], ...] = (
    GroupCreated,
    GroupChanged,
    GroupMembersChanged,
    GroupDeleted,
    ScimTokenIssued,
    ScimTokenRevoked,
)
