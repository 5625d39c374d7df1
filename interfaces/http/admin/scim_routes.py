"""An org's SCIM tokens (what its identity provider provisions with), and who is in a team.

Owners and admins of the org (and the admin key) issue, list and revoke its SCIM tokens; a
token's secret is in the answer to issuing it only. A token acts with the role of whoever
issued it (`role`: the admin key's is owner), on no one above it. Everyone in the org reads
team members.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, delete, get, post

from application.teams.access import no_such
from application.teams.directory_commands import IssueScimToken, RevokeScimToken
from domains.teams.scim_tokens import ScimToken
from infrastructure.queries.scim import team_members
from infrastructure.security.scim_tokens import scim_tokens_of
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Bus, Engine, Visible


class IssueScimTokenBody(msgspec.Struct, forbid_unknown_fields=True):
    """Nothing to choose: the token is the org's."""


class ScimTokenCreatedOut(msgspec.Struct):
    id: str
    token: str
    prefix: str
    org_id: str
    role: str  # the role it acts with: its issuer's


class ScimTokenOut(msgspec.Struct):
    id: str
    org_id: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    role: str | None  # the role it acts with (null: issued before it was recorded, an admin's)


class ScimTokenRevokedOut(msgspec.Struct):
    id: str
    revoked: bool


class TeamMemberOut(msgspec.Struct):
    user_id: str
    email: str | None
    user_name: str | None
    display_name: str | None
    active: bool
    groups: list[str]


class ScimController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: SCIM provisioning"]

    @post(
        "/orgs/{org_id:str}/scim-tokens",
        status_code=201,
        summary="Issue the org's SCIM token (its secret is in this answer only)",
    )
    async def issue(
        self, bus: Bus, visible: Visible, org_id: str, data: IssueScimTokenBody
    ) -> ScimTokenCreatedOut:
        principal = visible.principal
        await visible.org(org_id)
        principal.require_manage(org_id, "org")
        token: ScimToken
        token, secret = await bus.handle(
            IssueScimToken(org_id=org_id, actor=principal.actor, actor_role=principal.role)
        )
        return ScimTokenCreatedOut(
            id=token.id, token=secret, prefix=token.prefix, org_id=org_id, role=token.reach
        )

    @get("/orgs/{org_id:str}/scim-tokens", summary="The org's SCIM tokens (never their secrets)")
    async def list_tokens(
        self, engine: Engine, visible: Visible, org_id: str
    ) -> list[ScimTokenOut]:
        await visible.org(org_id)
        visible.principal.require_manage(org_id, "org")
        rows = await scim_tokens_of(engine, org_id)
        return [msgspec.convert(row, ScimTokenOut) for row in rows]

    @delete(
        "/orgs/{org_id:str}/scim-tokens/{token_id:str}",
        status_code=200,
        summary="Revoke one of the org's SCIM tokens",
    )
    async def revoke(
        self,
        bus: Bus,
        engine: Engine,
        visible: Visible,
        org_id: str,
        token_id: str,
    ) -> ScimTokenRevokedOut:
        principal = visible.principal
        await visible.org(org_id)
        principal.require_manage(org_id, "org")
        tokens = await scim_tokens_of(engine, org_id)
        if not any(row["id"] == token_id for row in tokens):
            raise no_such("SCIM token")
        token: ScimToken = await bus.handle(
            RevokeScimToken(token_id=token_id, actor=principal.actor)
        )
        return ScimTokenRevokedOut(id=token.id, revoked=token.revoked_at is not None)

    @get("/teams/{team_id:str}/members", summary="Who is in a team (through directory groups)")
    async def members(self, engine: Engine, visible: Visible, team_id: str) -> list[TeamMemberOut]:
        team = await visible.team(team_id)
        rows = await team_members(engine, team.id)
        return [msgspec.convert(row, TeamMemberOut) for row in rows]
