"""Directory groups (SCIM): each is linked to a team of its org, whose members its members are,
or grants a role to its members.

A group's name is unique in its org, case-insensitively. Its members are people of the org; each
may carry the label the directory shows for them (`display`), kept as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, InvalidValue
from domains.shared.ids import new_id
from domains.teams.directory import MAX_DISPLAY_NAME_LENGTH, MAX_EXTERNAL_ID_LENGTH, StaleVersion
from domains.teams.events import GroupChanged, GroupCreated, GroupDeleted, GroupMembersChanged
from domains.teams.model import Org
from domains.teams.users import Role

Members = Mapping[str, str | None]  # user id -> the label the directory shows for them


def group_name_key(name: str) -> str:
    return name.casefold()


def _valid_name(name: str) -> str:
    if not name.strip() or len(name) > MAX_DISPLAY_NAME_LENGTH or "\x00" in name:
        raise InvalidValue(f"`displayName` must be 1 to {MAX_DISPLAY_NAME_LENGTH} characters")
    return name


def _valid_external_id(external_id: str | None) -> str | None:
    if external_id is not None and (
        len(external_id) > MAX_EXTERNAL_ID_LENGTH or "\x00" in external_id
    ):
        raise InvalidValue(
            f"`externalId` must be at most {MAX_EXTERNAL_ID_LENGTH} characters, without NUL"
        )
    return external_id


@dataclass(eq=False)
class Group(Aggregate):
    id: str
    org_id: str
    display_name: str
    external_id: str | None = None
    team_id: str | None = None
    role: Role | None = None
    follows_team_name: bool = False  # renaming the group renames its team
    members: dict[str, str | None] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    deleted: bool = False

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @property
    def name_key(self) -> str:
        return group_name_key(self.display_name)

    @classmethod
    def create(
        cls,
        org: Org,
        display_name: str,
        *,
        actor: str,
        external_id: str | None = None,
        team_id: str | None = None,
        role: Role | None = None,
        follows_team_name: bool = False,
        members: Members | None = None,
    ) -> Group:
        group = cls(
            id=new_id(),
            org_id=org.id,
            display_name=_valid_name(display_name),
            external_id=_valid_external_id(external_id),
            team_id=team_id,
            role=role,
            follows_team_name=follows_team_name,
        )
        group.record(
            GroupCreated(
                group_id=group.id,
                org_id=group.org_id,
                display_name=group.display_name,
                external_id=group.external_id,
                team_id=team_id,
                role=role,
                actor=actor,
            )
        )
        group._set_members(dict(members or {}), actor=actor)
        return group

    def change(
        self,
        *,
        display_name: str,
        external_id: str | None,
        members: Members,
        actor: str,
        expected_version: int | None = None,
    ) -> tuple[str, ...]:
        """Makes the group what the directory now says; the user ids whose membership changed."""
        if self.deleted:
            raise Conflict(f"group {self.id} was deleted")
        if expected_version is not None and expected_version != self.version:
            raise StaleVersion(f"group {self.id} changed meanwhile")
        name, external = _valid_name(display_name), _valid_external_id(external_id)
        changed = tuple(
            attribute
            for attribute, before, after in (
                ("display_name", self.display_name, name),
                ("external_id", self.external_id, external),
            )
            if before != after
        )
        if changed:
            self.display_name, self.external_id = name, external
            self.record(
                GroupChanged(
                    group_id=self.id,
                    org_id=self.org_id,
                    display_name=name,
                    external_id=external,
                    changed=changed,
                    actor=actor,
                )
            )
        new_members = dict(members)
        differs = new_members != self.members  # labels count too, for the version
        moved = self._set_members(new_members, actor=actor)
        if changed or differs:
            self.version += 1
            self.updated_at = utcnow()
        return moved

    def delete(self, *, actor: str, expected_version: int | None = None) -> None:
        if expected_version is not None and expected_version != self.version:
            raise StaleVersion(f"group {self.id} changed meanwhile")
        self.deleted = True
        self.record(
            GroupDeleted(
                group_id=self.id,
                org_id=self.org_id,
                team_id=self.team_id,
                members=tuple(sorted(self.members)),
                actor=actor,
            )
        )

    def _set_members(self, members: dict[str, str | None], *, actor: str) -> tuple[str, ...]:
        added = tuple(sorted(set(members) - set(self.members)))
        removed = tuple(sorted(set(self.members) - set(members)))
        self.members = members
        if added or removed:
            self.record(
                GroupMembersChanged(
                    group_id=self.id,
                    org_id=self.org_id,
                    team_id=self.team_id,
                    added=added,
                    removed=removed,
                    actor=actor,
                )
            )
        return added + removed
