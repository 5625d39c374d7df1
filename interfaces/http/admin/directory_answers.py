"""Orgs, teams and keys as the admin API answers them (a key never with its secret)."""

from __future__ import annotations

from domains.shared.clock import utcnow
from domains.teams.model import Org, Team, VirtualKey
from infrastructure.queries.directory import KeyView, OrgView, TeamView
from interfaces.http.admin.schemas import KeyOut, OrgOut, TeamOut


def org_out(org: Org | OrgView) -> OrgOut:
    return OrgOut(
        id=org.id,
        name=org.name,
        created_at=org.created_at,
        metadata=org.metadata,
        deleted_at=org.deleted_at,
    )


def team_out(team: Team | TeamView) -> TeamOut:
    return TeamOut(
        id=team.id,
        org_id=team.org_id,
        name=team.name,
        created_at=team.created_at,
        metadata=team.metadata,
        deleted_at=team.deleted_at,
    )


def key_out(key: VirtualKey | KeyView) -> KeyOut:
    expired = key.expires_at is not None and key.expires_at <= utcnow()
    return KeyOut(
        id=key.id,
        prefix=key.prefix,
        name=key.name,
        team_id=key.team_id,
        org_id=key.org_id,
        user_id=key.user_id,
        models=list(key.models) if key.models is not None else None,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        active=key.revoked_at is None and not expired,
        metadata=key.metadata,
    )
