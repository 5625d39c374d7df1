"""Orgs, teams and virtual keys."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, post

from application.teams.commands import CreateOrg, CreateTeam, IssueKey, RevokeKey, RotateKey
from domains.teams.model import Org, Team, VirtualKey
from interfaces.http.admin.guard import ADMIN_ACTOR, require_admin
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
from interfaces.http.container import container_of


class TeamsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @post("/orgs", status_code=201, summary="Create an org")
    async def create_org(self, request: Request[Any, Any, Any], data: CreateOrgBody) -> OrgOut:
        org: Org = await container_of(request).bus.handle(
            CreateOrg(name=data.name, actor=ADMIN_ACTOR)
        )
        return OrgOut(id=org.id, name=org.name)

    @post("/teams", status_code=201, summary="Create a team in an org")
    async def create_team(self, request: Request[Any, Any, Any], data: CreateTeamBody) -> TeamOut:
        team: Team = await container_of(request).bus.handle(
            CreateTeam(org_id=data.org_id, name=data.name, actor=ADMIN_ACTOR)
        )
        return TeamOut(id=team.id, org_id=team.org_id, name=team.name)

    @post(
        "/keys", status_code=201, summary="Issue a virtual key (its secret is in this answer only)"
    )
    async def create_key(
        self, request: Request[Any, Any, Any], data: CreateKeyBody
    ) -> KeyCreatedOut:
        key: VirtualKey
        key, secret = await container_of(request).bus.handle(
            IssueKey(
                team_id=data.team_id,
                name=data.name,
                actor=ADMIN_ACTOR,
                user_id=data.user_id,
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
        old: VirtualKey
        new: VirtualKey
        old, new, secret = await container_of(request).bus.handle(
            RotateKey(key_id=key_id, actor=ADMIN_ACTOR, grace_seconds=data.grace_seconds)
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
        key: VirtualKey = await container_of(request).bus.handle(
            RevokeKey(key_id=key_id, actor=ADMIN_ACTOR)
        )
        return KeyRevokedOut(id=key.id, revoked=not key.active)
