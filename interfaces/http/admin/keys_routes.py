"""Virtual keys: issued, read, renamed, rotated and revoked, scoped to what the caller may see
and change. A key's secret is in the answer that issues it only; never its hash.

Everyone in an org reads its keys, revoked and expired ones too (each answer shows its state).
Owners and admins issue, rename, rotate and revoke the org's keys; members issue keys for
themselves only and change their own; viewers read.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from msgspec import UNSET

from application.teams.commands import ChangeKey, IssueKey, RevokeKey, RotateKey
from domains.teams.model import VirtualKey
from infrastructure.read_models.directory_pages import KeyFilter, keys_page
from infrastructure.read_models.directory_query import TeamView
from interfaces.http.admin.directory_answers import key_out
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.paging import DEFAULT_LIMIT, AfterId, Limit, QueryId, next_after_id
from interfaces.http.admin.principal import no_such, principal_of
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
from interfaces.http.admin.scoping import (
    forbidden,
    listed_org,
    require_key_change,
    visible_key,
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
        org_id: QueryId = None,
        team_id: QueryId = None,
        user_id: QueryId = None,
        limit: Limit = DEFAULT_LIMIT,
        after_id: AfterId = None,
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
