"""What an identity provider asks of the teams context (SCIM), and the SCIM tokens it uses."""

from __future__ import annotations

from domains.shared.events import Command
from domains.teams.directory import Entry


class ProvisionUser(Command, frozen=True, kw_only=True):
    org_id: str
    entry: Entry
    role: str
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it


class UpdateProvisionedUser(Command, frozen=True, kw_only=True):
    """Makes the person what `entry` says, if they are still at `expected_version`."""

    org_id: str
    user_id: str
    entry: Entry
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it
    expected_version: int | None = None


class DeleteProvisionedUser(Command, frozen=True, kw_only=True):
    org_id: str
    user_id: str
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it
    expected_version: int | None = None


class CreateGroup(Command, frozen=True, kw_only=True):
    """A group linked to the team named `team_name` (created if the org has none of that name),
    or granting `role`. `follows_team_name`: renaming the group renames the team."""

    org_id: str
    display_name: str
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it
    external_id: str | None = None
    members: tuple[tuple[str, str | None], ...] = ()
    team_name: str | None = None
    role: str | None = None
    follows_team_name: bool = False


class ChangeGroup(Command, frozen=True, kw_only=True):
    org_id: str
    group_id: str
    display_name: str
    external_id: str | None
    members: tuple[tuple[str, str | None], ...]
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it
    expected_version: int | None = None


class DeleteGroup(Command, frozen=True, kw_only=True):
    org_id: str
    group_id: str
    actor: str
    reach: str  # the SCIM token's role: it acts on no one above it
    expected_version: int | None = None


class IssueScimToken(Command, frozen=True, kw_only=True):
    org_id: str
    actor: str
    actor_role: str  # the token acts on no one above it


class RevokeScimToken(Command, frozen=True, kw_only=True):
    token_id: str
    actor: str
