"""Orgs, teams and virtual keys, each call scoped to what its caller may see and change.

Orgs are created with the admin key only. Owners and admins create teams in their org and issue,
rotate and revoke its keys; members issue keys for themselves only and rotate or revoke their own;
viewers read.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter

from application.teams.commands import CreateOrg, CreateTeam, IssueKey, RevokeKey, RotateKey
from domains.teams.model import Org, Team, VirtualKey
from infrastructure.read_models.directory_query import KeyView, TeamView, teams_of
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.principal import Principal, no_such, principal_of
from interfaces.http.admin.schemas import (
    CreateKeyBody,
    CreateOrgBody,
    CreateTeamBody,
    KeyCreatedOut,
    KeyRevokedOut,
    KeyRotatedOut,
    OrgOut,
    RotateKeyBody,
    TeamOut,
)
from interfaces.http.admin.scoping import (
    forbidden,
    listed_org,
    visible_key,
    visible_org,
    visible_team,
    visible_user,
)
from interfaces.http.container import container_of

QueryId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


def _team_out(team: TeamView) -> TeamOut:
    return TeamOut(id=team.id, org_id=team.org_id, name=team.name)


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


def _require_key_change(principal: Principal, key: KeyView) -> None:
    """Owners and admins change their org's keys; members their own; viewers none."""
    principal.require_read(key.org_id, "key")
    if principal.role == "viewer":
        raise forbidden("The role 'viewer' may not change keys.")
    if principal.role == "member" and (key.user_id is None or key.user_id != principal.user_id):
        raise forbidden("A member may change their own keys only.")


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
        return OrgOut(id=org.id, name=org.name)

    @post("/teams", status_code=201, summary="Create a team in an org")
    async def create_team(self, request: Request[Any, Any, Any], data: CreateTeamBody) -> TeamOut:
        principal = principal_of(request)
        await visible_org(request, data.org_id)
        principal.require_manage(data.org_id, "org")
        team: Team = await container_of(request).bus.handle(
            CreateTeam(org_id=data.org_id, name=data.name, actor=principal.actor)
        )
        return TeamOut(id=team.id, org_id=team.org_id, name=team.name)

    @get("/teams", summary="The teams of an org (a person's own org, unless they name none)")
    async def list_teams(
        self, request: Request[Any, Any, Any], org_id: QueryId | None = None
    ) -> list[TeamOut]:
        org = listed_org(principal_of(request), org_id)
        return [_team_out(team) for team in await teams_of(container_of(request).engine, org)]

    @get("/teams/{team_id:str}", summary="One team")
    async def get_team(self, request: Request[Any, Any, Any], team_id: str) -> TeamOut:
        return _team_out(await visible_team(request, team_id))

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
        _require_key_change(principal, await visible_key(request, key_id))
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
        _require_key_change(principal, await visible_key(request, key_id))
        key: VirtualKey = await container_of(request).bus.handle(
            RevokeKey(key_id=key_id, actor=principal.actor)
        )
        return KeyRevokedOut(id=key.id, revoked=not key.active)
