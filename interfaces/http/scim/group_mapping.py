"""What a directory group is linked to: the team of its own name unless the configuration
(`scim.groups`) names another team or a role."""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.settings.model import ScimSettings


@dataclass(frozen=True)
class Link:
    team: str | None
    role: str | None
    follows_name: bool  # the team is the group's namesake: renaming the group renames it


def link_of(settings: ScimSettings, org_id: str, group_name: str) -> Link:
    wanted = group_name.casefold()
    for mapping in settings.groups:
        if mapping.group.casefold() == wanted and mapping.org in (None, org_id):
            return Link(team=mapping.team, role=mapping.role, follows_name=False)
    return Link(team=group_name, role=None, follows_name=True)
