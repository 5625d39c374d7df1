"""Reading virtual keys and renaming them: never a key's secret or its hash.

Everyone in an org reads its keys, revoked and expired ones too (each answer shows its state).
Owners and admins rename keys and replace their metadata; members their own keys only. Issuing,
rotating and revoking are in `teams_routes`.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch
from msgspec import UNSET

from application.teams.commands import ChangeKey
from domains.teams.model import VirtualKey
from infrastructure.read_models.directory_pages import KeyFilter, keys_page
from interfaces.http.admin.directory_answers import key_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import DEFAULT_LIMIT, AfterId, Limit, QueryId, next_after_id
from interfaces.http.admin.principal import principal_of
from interfaces.http.admin.schemas import ChangeBody, KeyOut, KeyPageOut
from interfaces.http.admin.scoping import listed_org, require_key_change, visible_key, visible_team
from interfaces.http.container import container_of


class KeysController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: teams"]

    @get(
        "/keys",
        summary="Virtual keys, oldest first (a person's own org), never their secrets",
        description="Every filter given applies. Keyset-paged: ask again with `after_id` = the "
        "answer's `next_after_id` (null on the last page), keeping the same filters.",
    )
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        org_id: QueryId | None = None,
        team_id: QueryId | None = None,
        user_id: QueryId | None = None,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId | None = None,
    ) -> KeyPageOut:
        org = listed_org(principal_of(request), org_id)
        if team_id is not None:
            await visible_team(request, team_id)
        which = KeyFilter(org_id=org, team_id=team_id, user_id=user_id)
        rows = await keys_page(container_of(request).engine, which, after_id=after_id, limit=limit)
        return KeyPageOut(
            rows=[key_out(key) for key in rows], next_after_id=next_after_id(rows, limit)
        )

    @get("/keys/{key_id:str}", summary="One virtual key's record (never its secret)")
    async def get_key(self, request: Request[Any, Any, Any], key_id: str) -> KeyOut:
        return key_out(await visible_key(request, key_id))

    @patch("/keys/{key_id:str}", summary="Rename a key or replace its metadata")
    async def change_key(
        self, request: Request[Any, Any, Any], key_id: str, data: ChangeBody
    ) -> KeyOut:
        principal = principal_of(request)
        found = await visible_key(request, key_id)
        require_key_change(principal, found)
        key: VirtualKey = await container_of(request).bus.handle(
            ChangeKey(
                key_id=found.id,
                actor=principal.actor,
                name=None if data.name is UNSET else data.name,
                metadata=None if data.metadata is UNSET else data.metadata,
            )
        )
        return key_out(key)
