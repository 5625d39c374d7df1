"""Reads for the SCIM interface: an org's provisioned people and directory groups, as stored.

Lookups may be narrowed by one attribute compared for equality (what identity providers look
people and groups up by); anything finer is the caller's to match.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.teams.groups import group_name_key
from domains.teams.users import user_name_key
from infrastructure.db.tables import directory_groups, group_members, users


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_name: str | None
    email: str | None
    display_name: str | None
    active: bool
    external_id: str | None
    attributes: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime | None


class GroupRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    display_name: str
    external_id: str | None
    team_id: str | None
    role: str | None
    members: list[tuple[str, str | None]]
    version: int
    created_at: datetime
    updated_at: datetime


class Narrowing(msgspec.Struct, frozen=True):
    """An attribute (`id`, `userName`, `externalId`, `displayName`) equal to `value`."""

    attribute: str
    value: str


_USER = (
    users.c.id,
    users.c.user_name,
    users.c.email,
    users.c.display_name,
    users.c.active,
    users.c.external_id,
    users.c.attributes,
    users.c.version,
    users.c.created_at,
    users.c.updated_at,
)


def _user_condition(narrowing: Narrowing) -> Any:
    match narrowing.attribute:
        case "id":
            return users.c.id == narrowing.value
        case "userName":
            return users.c.user_name_key == user_name_key(narrowing.value)
        case "externalId":
            return users.c.external_id == narrowing.value
        case _:
            return None


def _group_condition(narrowing: Narrowing) -> Any:
    match narrowing.attribute:
        case "id":
            return directory_groups.c.id == narrowing.value
        case "displayName":
            return directory_groups.c.name_key == group_name_key(narrowing.value)
        case "externalId":
            return directory_groups.c.external_id == narrowing.value
        case _:
            return None


class Window(msgspec.Struct, frozen=True):
    """Rows `offset` to `offset + limit` (None: to the end) of a listing."""

    offset: int
    limit: int | None


async def count_of(engine: AsyncEngine, org_id: str, resource_type: str) -> int:
    """How many people (deleted ones left out) or directory groups the org has."""
    if resource_type == "User":
        query = select(func.count()).where(users.c.org_id == org_id, users.c.deleted_at.is_(None))
    else:
        query = select(func.count()).where(directory_groups.c.org_id == org_id)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def users_of(
    engine: AsyncEngine,
    org_id: str,
    narrowing: Narrowing | None = None,
    window: Window | None = None,
) -> list[UserRecord]:
    """The org's people, deleted ones left out, oldest first (a stable order for paging)."""
    query = (
        select(*_USER)
        .where(users.c.org_id == org_id, users.c.deleted_at.is_(None))
        .order_by(users.c.created_at, users.c.id)
    )
    condition = _user_condition(narrowing) if narrowing is not None else None
    if condition is not None:
        query = query.where(condition)
    if window is not None:
        query = query.offset(window.offset).limit(window.limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        UserRecord(
            **(
                dict(row._mapping)
                | {"active": bool(row.active), "attributes": row.attributes or {}}
            )
        )
        for row in rows
    ]


async def groups_of(
    engine: AsyncEngine,
    org_id: str,
    narrowing: Narrowing | None = None,
    window: Window | None = None,
) -> list[GroupRecord]:
    """The org's directory groups with their members, oldest first."""
    query = (
        select(directory_groups)
        .where(directory_groups.c.org_id == org_id)
        .order_by(directory_groups.c.created_at, directory_groups.c.id)
    )
    condition = _group_condition(narrowing) if narrowing is not None else None
    if condition is not None:
        query = query.where(condition)
    if window is not None:
        query = query.offset(window.offset).limit(window.limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        members: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        if rows:
            found = await conn.execute(
                select(group_members)
                .where(group_members.c.group_id.in_([row.id for row in rows]))
                .order_by(group_members.c.user_id)
            )
            for member in found.all():
                members[member.group_id].append((member.user_id, member.display))
    return [
        GroupRecord(
            id=row.id,
            display_name=row.display_name,
            external_id=row.external_id,
            team_id=row.team_id,
            role=row.role,
            members=members[row.id],
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


async def memberships_of(
    engine: AsyncEngine, user_ids: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """(group id, group name) of every group each of these people is in."""
    if not user_ids:
        return {}
    query = (
        select(group_members.c.user_id, directory_groups.c.id, directory_groups.c.display_name)
        .select_from(
            group_members.join(directory_groups, directory_groups.c.id == group_members.c.group_id)
        )
        .where(group_members.c.user_id.in_(user_ids))
        .order_by(directory_groups.c.created_at, directory_groups.c.id)
    )
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    async with engine.connect() as conn:
        for row in (await conn.execute(query)).all():
            found[row.user_id].append((row.id, row.display_name))
    return found


async def team_members(engine: AsyncEngine, team_id: str) -> list[dict[str, Any]]:
    """The people in a team: the members of the directory groups linked to it."""
    query = (
        select(
            users.c.id,
            users.c.email,
            users.c.user_name,
            users.c.display_name,
            users.c.active,
            directory_groups.c.id.label("group_id"),
        )
        .select_from(
            group_members.join(
                directory_groups, directory_groups.c.id == group_members.c.group_id
            ).join(users, users.c.id == group_members.c.user_id)
        )
        .where(directory_groups.c.team_id == team_id)
        .order_by(users.c.created_at, users.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    people: dict[str, dict[str, Any]] = {}
    for row in rows:
        person = people.setdefault(
            row.id,
            {
                "user_id": row.id,
                "email": row.email,
                "user_name": row.user_name,
                "display_name": row.display_name,
                "active": bool(row.active),
                "groups": [],
            },
        )
        person["groups"].append(row.group_id)
    return list(people.values())
