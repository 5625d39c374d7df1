"""Teams, each call scoped to what its caller may see and change.

Owners and admins create, rename and delete teams in their org; everyone in the org reads them.
Deleting a team revokes its keys; its row stays (usage and audit rows name it), shown with
`deleted_at` and left out of lists unless asked for.
"""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from msgspec import UNSET

from application.teams.commands import ChangeTeam, CreateTeam, DeleteTeam
from domains.teams.model import Team
from infrastructure.queries.directory_pages import teams_page
from interfaces.http.admin.directory_answers import team_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import DEFAULT_LIMIT, AfterId, Limit, QueryId, next_after_id
from interfaces.http.admin.schemas import (
    ChangeBody,
    CreateTeamBody,
    TeamDeletedOut,
    TeamOut,
    TeamPageOut,
)
from interfaces.http.dependencies import Bus, Caller, Engine, Visible


class TeamsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @post("/teams", status_code=201, summary="Create a team in an org")
    async def create_team(self, bus: Bus, visible: Visible, data: CreateTeamBody) -> TeamOut:
        principal = visible.principal
        await visible.org(data.org_id)
        principal.require_manage(data.org_id, "org")
        team: Team = await bus.handle(
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
        engine: Engine,
        principal: Caller,
        org_id: QueryId = None,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId = None,
        include_deleted: bool = False,
    ) -> TeamPageOut:
        org = principal.listed_org(org_id)
        rows = await teams_page(
            engine,
            org_id=org,
            after_id=after_id,
            limit=limit,
            include_deleted=include_deleted,
        )
        return TeamPageOut(
            rows=[team_out(team) for team in rows], next_after_id=next_after_id(rows, limit)
        )

    @get("/teams/{team_id:str}", summary="One team (a deleted one too, with `deleted_at`)")
    async def get_team(self, visible: Visible, team_id: str) -> TeamOut:
        return team_out(await visible.team(team_id))

    @patch("/teams/{team_id:str}", summary="Rename a team or replace its metadata")
    async def change_team(
        self, bus: Bus, visible: Visible, team_id: str, data: ChangeBody
    ) -> TeamOut:
        found = await visible.managed_team(team_id)
        team: Team = await bus.handle(
            ChangeTeam(
                team_id=found.id,
                actor=visible.principal.actor,
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
    async def delete_team(self, bus: Bus, visible: Visible, team_id: str) -> TeamDeletedOut:
        found = await visible.managed_team(team_id)
        team: Team
        revoked: list[str]
        team, revoked = await bus.handle(
            DeleteTeam(team_id=found.id, actor=visible.principal.actor)
        )
        return TeamDeletedOut(id=team.id, deleted=True, revoked_keys=revoked)
