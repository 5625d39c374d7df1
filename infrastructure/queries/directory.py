"""Reads of the teams context for the admin API: teams, keys, users and admin tokens, with the
org each belongs to (which is what the admin API scopes callers by). Never a secret or a hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import admin_tokens, orgs, teams, users, virtual_keys


class OrgView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    created_at: datetime
    metadata: dict[str, Any]
    deleted_at: datetime | None


class TeamView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    name: str
    created_at: datetime
    metadata: dict[str, Any]
    deleted_at: datetime | None


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    """A key as the admin API shows it: never its secret or the secret's hash."""

    id: str
    team_id: str
    org_id: str
    user_id: str | None
    name: str
    prefix: str
    models: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    metadata: dict[str, Any]


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    email: str | None
    display_name: str | None
    role: str
    active: bool
    external_id: str | None
    created_at: datetime
    user_name: str | None = None
    deleted_at: datetime | None = None


class AdminTokenView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    org_id: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


ORG_COLUMNS = (orgs.c.id, orgs.c.name, orgs.c.created_at, orgs.c.metadata, orgs.c.deleted_at)
TEAM_COLUMNS = (
    teams.c.id,
    teams.c.org_id,
    teams.c.name,
    teams.c.created_at,
    teams.c.metadata,
    teams.c.deleted_at,
)
KEY_COLUMNS = (
    virtual_keys.c.id,
    virtual_keys.c.team_id,
    virtual_keys.c.org_id,
    virtual_keys.c.user_id,
    virtual_keys.c.name,
    virtual_keys.c.prefix,
    virtual_keys.c.models,
    virtual_keys.c.created_at,
    virtual_keys.c.expires_at,
    virtual_keys.c.revoked_at,
    virtual_keys.c.metadata,
)
_USER = (
    users.c.id,
    users.c.org_id,
    users.c.email,
    users.c.display_name,
    users.c.role,
    users.c.active,
    users.c.external_id,
    users.c.created_at,
    users.c.user_name,
    users.c.deleted_at,
)
_TOKEN = (
    admin_tokens.c.id,
    admin_tokens.c.user_id,
    admin_tokens.c.org_id,
    admin_tokens.c.prefix,
    admin_tokens.c.created_at,
    admin_tokens.c.revoked_at,
)


async def rows_of(engine: AsyncEngine, query: Any) -> list[dict[str, Any]]:
    """The rows as dicts, a null `metadata` as an empty object."""
    async with engine.connect() as conn:
        rows = [dict(row._mapping) for row in (await conn.execute(query)).all()]
    for row in rows:
        if "metadata" in row and row["metadata"] is None:
            row["metadata"] = {}
    return rows


async def _one(engine: AsyncEngine, query: Any) -> dict[str, Any] | None:
    rows = await rows_of(engine, query.limit(1))
    return rows[0] if rows else None


async def org_exists(engine: AsyncEngine, org_id: str) -> bool:
    return await _one(engine, select(orgs.c.id).where(orgs.c.id == org_id)) is not None


async def org_by_id(engine: AsyncEngine, org_id: str) -> OrgView | None:
    row = await _one(engine, select(*ORG_COLUMNS).where(orgs.c.id == org_id))
    return OrgView(**row) if row else None


async def team_by_id(engine: AsyncEngine, team_id: str) -> TeamView | None:
    row = await _one(engine, select(*TEAM_COLUMNS).where(teams.c.id == team_id))
    return TeamView(**row) if row else None


async def key_by_id(engine: AsyncEngine, key_id: str) -> KeyView | None:
    row = await _one(engine, select(*KEY_COLUMNS).where(virtual_keys.c.id == key_id))
    return KeyView(**row) if row else None


async def user_by_id(engine: AsyncEngine, user_id: str) -> UserView | None:
    row = await _one(engine, select(*_USER).where(users.c.id == user_id))
    return UserView(**(row | {"active": bool(row["active"])})) if row else None


async def users_of(engine: AsyncEngine, org_id: str | None) -> list[UserView]:
    """An org's users (every user for None), oldest first."""
    query = select(*_USER).order_by(users.c.created_at, users.c.id)
    if org_id is not None:
        query = query.where(users.c.org_id == org_id)
    return [
        UserView(**(row | {"active": bool(row["active"])})) for row in await rows_of(engine, query)
    ]


async def admin_token_by_id(engine: AsyncEngine, token_id: str) -> AdminTokenView | None:
    row = await _one(engine, select(*_TOKEN).where(admin_tokens.c.id == token_id))
    return AdminTokenView(**row) if row else None


async def admin_tokens_of(engine: AsyncEngine, user_id: str) -> list[AdminTokenView]:
    """A user's admin tokens, revoked ones too, oldest first."""
    query = (
        select(*_TOKEN)
        .where(admin_tokens.c.user_id == user_id)
        .order_by(admin_tokens.c.created_at, admin_tokens.c.id)
    )
    return [AdminTokenView(**row) for row in await rows_of(engine, query)]
