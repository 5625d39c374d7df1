"""Orgs: created, read, renamed and deleted.

Only the admin key creates orgs. The admin key sees every org; a person sees their own. Owners
and admins rename their org and replace its metadata; only the admin key deletes an org, and
only once it holds nothing live (no team, active person, SCIM token or SSO connection: 409 names
what is left). A deleted org's row
stays (usage and audit rows name it), shown with `deleted_at`, and nothing is added to it.
"""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from msgspec import UNSET

from application.teams.commands import ChangeOrg, CreateOrg, DeleteOrg
from domains.teams.model import Org
from infrastructure.queries.directory_pages import orgs_page
from interfaces.http.admin.directory_answers import org_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import DEFAULT_LIMIT, AfterId, Limit, next_after_id
from interfaces.http.admin.schemas import (
    ChangeBody,
    CreateOrgBody,
    OrgDeletedOut,
    OrgOut,
    OrgPageOut,
)
from interfaces.http.dependencies import Bus, Caller, Engine, Visible


class OrgsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @post("/orgs", status_code=201, summary="Create an org (the admin key only)")
    async def create_org(self, bus: Bus, principal: Caller, data: CreateOrgBody) -> OrgOut:
        principal.require_root()
        org: Org = await bus.handle(CreateOrg(name=data.name, actor=principal.actor))
        return org_out(org)

    @get(
        "/orgs",
        summary="Orgs, oldest first: every org for the admin key, a person's own otherwise",
        description="Keyset-paged: ask again with `after_id` = the answer's `next_after_id` "
        "(null on the last page). Deleted orgs are left out unless `include_deleted=true`.",
    )
    async def list_orgs(
        self,
        engine: Engine,
        principal: Caller,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId = None,
        include_deleted: bool = False,
    ) -> OrgPageOut:
        rows = await orgs_page(
            engine,
            org_id=principal.org_id,
            after_id=after_id,
            limit=limit,
            include_deleted=include_deleted,
        )
        return OrgPageOut(
            rows=[org_out(org) for org in rows], next_after_id=next_after_id(rows, limit)
        )

    @get("/orgs/{org_id:str}", summary="One org (a deleted one too, with `deleted_at`)")
    async def get_org(self, visible: Visible, org_id: str) -> OrgOut:
        return org_out(await visible.org_view(org_id))

    @patch("/orgs/{org_id:str}", summary="Rename an org or replace its metadata")
    async def change_org(self, bus: Bus, visible: Visible, org_id: str, data: ChangeBody) -> OrgOut:
        principal = visible.principal
        found = await visible.org_view(org_id)
        principal.require_manage(found.id, "org")
        org: Org = await bus.handle(
            ChangeOrg(
                org_id=found.id,
                actor=principal.actor,
                name=None if data.name is UNSET else data.name,
                metadata=None if data.metadata is UNSET else data.metadata,
            )
        )
        return org_out(org)

    @delete(
        "/orgs/{org_id:str}",
        status_code=200,
        summary="Delete an org that holds nothing live (the admin key only)",
    )
    async def delete_org(self, bus: Bus, visible: Visible, org_id: str) -> OrgDeletedOut:
        principal = visible.principal
        found = await visible.org_view(org_id)
        principal.require_root()
        org: Org = await bus.handle(DeleteOrg(org_id=found.id, actor=principal.actor))
        return OrgDeletedOut(id=org.id, deleted=org.deleted_at is not None)
