"""Renaming, labelling and deleting orgs, teams and keys.

Metadata is the operator's own small JSON object on an org, a team or a key (a cost centre, a
ticket, an owner's address); a change replaces it whole. Deleting never removes a row: usage and
audit rows name orgs, teams and keys by id for good. A deleted team's keys are revoked with it.
An org is deleted only once it holds no live team (whose deletion revokes keys: a deliberate
step), SCIM token or SSO connection (an identity provider would keep acting in it); the people
still active in it are deactivated with it, its last owner too. Nothing acts in a deleted org.
A revoked key stays readable, as it was.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, InvalidValue
from domains.teams.events import (
    BodiesLoggingSet,
    KeyChanged,
    OrgChanged,
    OrgDeleted,
    TeamChanged,
    TeamDeleted,
    UserChanged,
)
from domains.teams.model import Org, Team, VirtualKey
from domains.teams.users import User

MAX_METADATA_BYTES = 8192  # of the object as compact JSON
MAX_METADATA_KEYS = 64


def checked_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata, if it is small enough to keep; else InvalidValue (400)."""
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidValue(f"`metadata` has {len(metadata)} keys; at most {MAX_METADATA_KEYS}")
    size = len(msgspec.json.encode(metadata))
    if size > MAX_METADATA_BYTES:
        raise InvalidValue(
            f"`metadata` is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are kept"
        )
    return metadata


def _checked_name(name: str, what: str) -> str:
    if not name.strip():
        raise InvalidValue(f"a {what}'s name must not be blank")
    return name


class OrgHoldings(NamedTuple):
    """What an org still holds that would act in it after its deletion."""

    teams: int  # not deleted
    scim_tokens: int  # not revoked
    sso_connections: int

    def described(self) -> str:
        """What is left and what to do about it, for a 409."""
        parts = [
            (self.teams, "team", "delete its teams"),
            (self.scim_tokens, "SCIM token", "revoke its SCIM tokens"),
            (self.sso_connections, "SSO connection", "delete its SSO connections"),
        ]
        left = [(f"{n} {noun}{'' if n == 1 else 's'}", do) for n, noun, do in parts if n]
        return f"{', '.join(what for what, _ in left)}: first {', '.join(do for _, do in left)}"


def change_org(
    org: Org, *, actor: str, name: str | None = None, metadata: dict[str, Any] | None = None
) -> bool:
    """Renames or relabels the org; False when nothing changed (and nothing is recorded)."""
    org.require_live()
    changed: list[str] = []
    if name is not None and _checked_name(name, "org") != org.name:
        org.name = name
        changed.append("name")
    if metadata is not None and checked_metadata(metadata) != org.metadata:
        org.metadata = metadata
        changed.append("metadata")
    if changed:
        org.record(
            OrgChanged(
                org_id=org.id,
                name=org.name,
                metadata=org.metadata,
                changed=tuple(changed),
                actor=actor,
            )
        )
    return bool(changed)


def delete_org(org: Org, holdings: OrgHoldings, people: list[User], *, actor: str) -> None:
    """Marks the org deleted and deactivates `people` (its active users), the last owner too;
    Conflict (409) while it holds anything live, naming what."""
    org.require_live()
    if any(holdings):
        raise Conflict(f"The org still holds {holdings.described()}.")
    for person in people:
        if person.org_id != org.id:
            raise ValueError(f"user {person.id} is not of org {org.id}")
        if person.active:
            _deactivate(person, actor=actor)
    org.deleted_at = utcnow()
    org.record(OrgDeleted(org_id=org.id, actor=actor))


def _deactivate(user: User, *, actor: str) -> None:
    """As `User.change(active=False)`, without the last-owner rule: the org goes with them."""
    user.active = False
    user.version += 1
    user.updated_at = utcnow()
    user.record(
        UserChanged(
            user_id=user.id,
            org_id=user.org_id,
            role=user.role,
            active=False,
            display_name=user.display_name,
            changed=("active",),
            actor=actor,
        )
    )


def change_team(
    team: Team, *, actor: str, name: str | None = None, metadata: dict[str, Any] | None = None
) -> bool:
    """Renames (`team.rename`) or relabels (`team.change`) the team; False when nothing
    changed."""
    team.require_live()
    renamed = name is not None and team.rename(name, actor=actor)
    relabelled = metadata is not None and checked_metadata(metadata) != team.metadata
    if relabelled and metadata is not None:
        team.metadata = metadata
        team.record(
            TeamChanged(team_id=team.id, org_id=team.org_id, metadata=metadata, actor=actor)
        )
    return renamed or relabelled


def delete_team(team: Team, keys: list[VirtualKey], *, actor: str) -> None:
    """Marks the team deleted and revokes `keys` (its keys not yet revoked)."""
    team.require_live()
    for key in keys:
        if key.team_id != team.id:
            raise ValueError(f"key {key.id} is not of team {team.id}")
        key.revoke(actor=actor)
    team.deleted_at = utcnow()
    team.record(
        TeamDeleted(
            team_id=team.id,
            org_id=team.org_id,
            revoked_keys=tuple(key.id for key in keys),
            actor=actor,
        )
    )


def change_key(
    key: VirtualKey,
    *,
    actor: str,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """Renames or relabels the key (a revoked one too: its record stays readable); False when
    nothing changed."""
    changed: list[str] = []
    if name is not None and _checked_name(name, "key") != key.name:
        key.name = name
        changed.append("name")
    if metadata is not None and checked_metadata(metadata) != key.metadata:
        key.metadata = metadata
        changed.append("metadata")
    if changed:
        key.record(
            KeyChanged(
                key_id=key.id,
                team_id=key.team_id,
                org_id=key.org_id,
                name=key.name,
                metadata=key.metadata,
                changed=tuple(changed),
                actor=actor,
            )
        )
    return bool(changed)


def set_bodies_logging(owner: Team | VirtualKey, enabled: bool, *, actor: str) -> bool:
    """Opts a team or a key in (or out) of keeping its calls' bodies in the request log; False
    when it already was."""
    if isinstance(owner, Team):
        owner.require_live()
    if owner.log_bodies == enabled:
        return False
    owner.log_bodies = enabled
    key = owner if isinstance(owner, VirtualKey) else None
    owner.record(
        BodiesLoggingSet(
            scope="key" if key is not None else "team",
            target_id=owner.id,
            team_id=key.team_id if key is not None else owner.id,
            org_id=owner.org_id,
            enabled=enabled,
            actor=actor,
        )
    )
    return True
