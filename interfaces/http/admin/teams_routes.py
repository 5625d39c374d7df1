"""Orgs, teams and virtual keys, each call scoped to what its caller may see and change.

Orgs are created with the admin key only. Owners and admins create, rename and delete teams in
their org and issue, rotate and revoke its keys; members issue keys for themselves only and
rotate or revoke their own; viewers read. Deleting a team revokes its keys; its row stays (usage
and audit rows name it), shown with `deleted_at` and left out of lists unless asked for.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from msgspec import UNSET

from application.teams.commands import (
    ChangeTeam,
    CreateOrg,
    CreateTeam,
    DeleteTeam,
    IssueKey,
    RevokeKey,
    RotateKey,
)
from domains.teams.model import Org, Team, VirtualKey
from infrastructure.read_models.directory_pages import teams_page
from infrastructure.read_models.directory_query import TeamView
from interfaces.http.admin.directory_answers import org_out, team_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import (
    DEFAULT_LIMIT,
    AfterId,
    Limit,
    QueryId,
    next_after_id,
)
from interfaces.http.admin.principal import no_such, principal_of
from interfaces.http.admin.schemas import (
    ChangeBody,
    CreateKeyBody,
    CreateOrgBody,
    CreateTeamBody,
    KeyCreatedOut,
    KeyRevokedOut,
    KeyRotatedOut,
    OrgOut,
    RotateKeyBody,
    TeamDeletedOut,
    TeamOut,
    TeamPageOut,
)
from interfaces.http.admin.scoping import (
    forbidden,
    listed_org,
    require_key_change,
    visible_key,
    visible_org,
    visible_team,
    visible_user,
)
from interfaces.http.container import container_of


async def _key_user(
    request: Request[Any, Any, Any], team: TeamView, user_id: str | None
) -> str | None:
    """The user a new key is for. A member's keys are their own; an owner or admin names a user
    of the org (or none); the admin key may name any user id."""
    principal = principal_of(request)
    if principal.role == "viewer":
        raise forbidden("The role 'viewer' may not issue keys.")
    if principal.role == "member":
        if user_id is not None and user_id != principal.user_id:
            raise forbidden("A member may issue keys for themselves only.")
        return principal.user_id
    if user_id is not None and not principal.is_root:
        user = await visible_user(request, user_id)
        if user.org_id != team.org_id:
            raise no_such("user")
    return user_id


class TeamsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @post("/orgs", status_code=201, summary="Create an org (the admin key only)")
    async def create_org(self, request: Request[Any, Any, Any], data: CreateOrgBody) -> OrgOut:
        principal = principal_of(request)
        principal.require_root()
        org: Org = await container_of(request).bus.handle(
            CreateOrg(name=data.name, actor=principal.actor)
        )
        return org_out(org)

    @post("/teams", status_code=201, summary="Create a team in an org")
    async def create_team(self, request: Request[Any, Any, Any], data: CreateTeamBody) -> TeamOut:
        principal = principal_of(request)
        await visible_org(request, data.org_id)
        principal.require_manage(data.org_id, "org")
        team: Team = await container_of(request).bus.handle(
            CreateTeam(org_id=data.org_id, name=data.name, actor=principal.actor)
        )
        return team_out(team)

    @get(
        "/teams",
        summary="The teams of an org (a person's own org, unless they name none), oldest first",
        description="Keyset-paged: ask again with `after_id` = the answer's `next_after_id` "
        "(null on the last page). Deleted teams are left out unless `include_deleted=true`.",
    )
    async def list_teams(
        self,
        request: Request[Any, Any, Any],
        org_id: QueryId | None = None,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId | None = None,
        include_deleted: bool = False,
    ) -> TeamPageOut:
        org = listed_org(principal_of(request), org_id)
        rows = await teams_page(
            container_of(request).engine,
            org_id=org,
            after_id=after_id,
            limit=limit,
            include_deleted=include_deleted,
        )
        return TeamPageOut(
            rows=[team_out(team) for team in rows], next_after_id=next_after_id(rows, limit)
        )

    @get("/teams/{team_id:str}", summary="One team (a deleted one too, with `deleted_at`)")
    async def get_team(self, request: Request[Any, Any, Any], team_id: str) -> TeamOut:
        return team_out(await visible_team(request, team_id))

    @patch("/teams/{team_id:str}", summary="Rename a team or replace its metadata")
    async def change_team(
        self, request: Request[Any, Any, Any], team_id: str, data: ChangeBody
    ) -> TeamOut:
        principal = principal_of(request)
        found = await _managed_team(request, team_id)
        team: Team = await container_of(request).bus.handle(
            ChangeTeam(
                team_id=found.id,
                actor=principal.actor,
                name=None if data.name is UNSET else data.name,
                metadata=None if data.metadata is UNSET else data.metadata,
            )
        )
        return team_out(team)

    @delete(
        "/teams/{team_id:str}",
        status_code=200,
        summary="Delete a team: its keys are revoked, its row stays for usage and audit",
    )
    async def delete_team(self, request: Request[Any, Any, Any], team_id: str) -> TeamDeletedOut:
        principal = principal_of(request)
        found = await _managed_team(request, team_id)
        team: Team
        revoked: list[str]
        team, revoked = await container_of(request).bus.handle(
            DeleteTeam(team_id=found.id, actor=principal.actor)
        )
        return TeamDeletedOut(id=team.id, deleted=True, revoked_keys=revoked)

    @post(
        "/keys", status_code=201, summary="Issue a virtual key (its secret is in this answer only)"
    )
    async def create_key(
        self, request: Request[Any, Any, Any], data: CreateKeyBody
    ) -> KeyCreatedOut:
        principal = principal_of(request)
        team = await visible_team(request, data.team_id)
        user_id = await _key_user(request, team, data.user_id)
        key: VirtualKey
        key, secret = await container_of(request).bus.handle(
            IssueKey(
                team_id=team.id,
                name=data.name,
                actor=principal.actor,
                user_id=user_id,
                models=tuple(data.models) if data.models is not None else None,
                expires_at=data.expires_at,
            )
        )
        return KeyCreatedOut(id=key.id, key=secret, prefix=key.prefix, team_id=key.team_id)

    @post(
        "/keys/{key_id:str}/rotate",
        status_code=201,
        summary="Replace a key; the old one keeps working for the grace period",
    )
    async def rotate_key(
        self, request: Request[Any, Any, Any], key_id: str, data: RotateKeyBody
    ) -> KeyRotatedOut:
        principal = principal_of(request)
        require_key_change(principal, await visible_key(request, key_id))
        old: VirtualKey
        new: VirtualKey
        old, new, secret = await container_of(request).bus.handle(
            RotateKey(key_id=key_id, actor=principal.actor, grace_seconds=data.grace_seconds)
        )
        return KeyRotatedOut(
            id=new.id,
            key=secret,
            prefix=new.prefix,
            team_id=new.team_id,
            previous_key_id=old.id,
            previous_key_expires_at=old.expires_at,
        )

    @delete("/keys/{key_id:str}", status_code=200, summary="Revoke a virtual key")
    async def revoke_key(self, request: Request[Any, Any, Any], key_id: str) -> KeyRevokedOut:
        principal = principal_of(request)
        require_key_change(principal, await visible_key(request, key_id))
        key: VirtualKey = await container_of(request).bus.handle(
            RevokeKey(key_id=key_id, actor=principal.actor)
        )
        return KeyRevokedOut(id=key.id, revoked=not key.active)


async def _managed_team(request: Request[Any, Any, Any], team_id: str) -> TeamView:
    """The team, if the caller sees it (404) and may change it (403)."""
    team = await visible_team(request, team_id)
    principal_of(request).require_manage(team.org_id, "team")
    return team
