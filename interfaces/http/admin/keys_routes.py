"""Virtual keys: issued, read, renamed, rotated and revoked, scoped to what the caller may see
and change. A key's secret is in the answer that issues it only; never its hash.

Everyone in an org reads its keys, revoked and expired ones too (each answer shows its state).
Owners and admins issue, rename, rotate and revoke the org's keys; members issue keys for
themselves only and change their own; viewers read.
"""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from msgspec import UNSET

from application.teams.access import key_holder, require_key_change
from application.teams.commands import ChangeKey, IssueKey, RevokeKey, RotateKey
from domains.teams.model import VirtualKey
from infrastructure.queries.directory import KeyView
from infrastructure.queries.directory_pages import KeyFilter, keys_page
from interfaces.http.admin.directory_answers import key_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import DEFAULT_LIMIT, AfterId, Limit, QueryId, next_after_id
from interfaces.http.admin.schemas import (
    ChangeBody,
    CreateKeyBody,
    KeyCreatedOut,
    KeyOut,
    KeyPageOut,
    KeyRevokedOut,
    KeyRotatedOut,
    RotateKeyBody,
)
from interfaces.http.dependencies import Bus, Engine, Visible


async def _changeable_key(visible: Visible, key_id: str) -> KeyView:
    key = await visible.key(key_id)
    require_key_change(visible.principal, key.org_id, key.user_id)
    return key


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
        engine: Engine,
        visible: Visible,
        org_id: QueryId = None,
        team_id: QueryId = None,
        user_id: QueryId = None,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId = None,
    ) -> KeyPageOut:
        org = visible.principal.listed_org(org_id)
        if team_id is not None:
            await visible.team(team_id)
        which = KeyFilter(org_id=org, team_id=team_id, user_id=user_id)
        rows = await keys_page(engine, which, after_id=after_id, limit=limit)
        return KeyPageOut(
            rows=[key_out(key) for key in rows], next_after_id=next_after_id(rows, limit)
        )

    @get("/keys/{key_id:str}", summary="One virtual key's record (never its secret)")
    async def get_key(self, visible: Visible, key_id: str) -> KeyOut:
        return key_out(await visible.key(key_id))

    @patch("/keys/{key_id:str}", summary="Rename a key or replace its metadata")
    async def change_key(self, bus: Bus, visible: Visible, key_id: str, data: ChangeBody) -> KeyOut:
        found = await _changeable_key(visible, key_id)
        key: VirtualKey = await bus.handle(
            ChangeKey(
                key_id=found.id,
                actor=visible.principal.actor,
                name=None if data.name is UNSET else data.name,
                metadata=None if data.metadata is UNSET else data.metadata,
            )
        )
        return key_out(key)

    @post(
        "/keys", status_code=201, summary="Issue a virtual key (its secret is in this answer only)"
    )
    async def create_key(self, bus: Bus, visible: Visible, data: CreateKeyBody) -> KeyCreatedOut:
        team = await visible.team(data.team_id)

        async def org_of(user_id: str) -> str:
            return (await visible.user(user_id)).org_id

        user_id = await key_holder(visible.principal, data.user_id, team.org_id, org_of)
        key: VirtualKey
        key, secret = await bus.handle(
            IssueKey(
                team_id=team.id,
                name=data.name,
                actor=visible.principal.actor,
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
        self, bus: Bus, visible: Visible, key_id: str, data: RotateKeyBody
    ) -> KeyRotatedOut:
        await _changeable_key(visible, key_id)
        old: VirtualKey
        new: VirtualKey
        old, new, secret = await bus.handle(
            RotateKey(
                key_id=key_id, actor=visible.principal.actor, grace_seconds=data.grace_seconds
            )
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
    async def revoke_key(self, bus: Bus, visible: Visible, key_id: str) -> KeyRevokedOut:
        await _changeable_key(visible, key_id)
        key: VirtualKey = await bus.handle(RevokeKey(key_id=key_id, actor=visible.principal.actor))
        return KeyRevokedOut(id=key.id, revoked=not key.active)
