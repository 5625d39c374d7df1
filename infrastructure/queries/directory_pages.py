"""Lists of orgs, teams and keys for the admin API and the command line, keyset-paged by id.

Ids are time-ordered, so id order is creation order. A page holds the rows after `after_id`
(exclusive), at most `limit` of them; the next page starts after the last row's id. Never a
key's secret or hash.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import orgs, teams, virtual_keys
from infrastructure.queries.directory import (
    KEY_COLUMNS,
    ORG_COLUMNS,
    TEAM_COLUMNS,
    KeyView,
    OrgView,
    TeamView,
    rows_of,
)


class KeyFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which keys a list holds: each filter given applies (None: any)."""

    org_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None


def _paged(query: Any, id_column: Any, after_id: str | None, limit: int) -> Any:
    if after_id is not None:
        query = query.where(id_column > after_id)
    return query.order_by(id_column).limit(limit)


async def orgs_page(
    engine: AsyncEngine,
    *,
    org_id: str | None,
    after_id: str | None,
    limit: int,
    include_deleted: bool = False,
) -> list[OrgView]:
    """Orgs, oldest first: only `org_id` when given; deleted ones only if asked for."""
    query = select(*ORG_COLUMNS)
    if org_id is not None:
        query = query.where(orgs.c.id == org_id)
    if not include_deleted:
        query = query.where(orgs.c.deleted_at.is_(None))
    rows = await rows_of(engine, _paged(query, orgs.c.id, after_id, limit))
    return [OrgView(**row) for row in rows]


async def teams_page(
    engine: AsyncEngine,
    *,
    org_id: str | None,
    after_id: str | None,
    limit: int,
    include_deleted: bool = False,
) -> list[TeamView]:
    """An org's teams (every org's for None), oldest first; deleted ones only if asked for."""
    query = select(*TEAM_COLUMNS)
    if org_id is not None:
        query = query.where(teams.c.org_id == org_id)
    if not include_deleted:
        query = query.where(teams.c.deleted_at.is_(None))
    rows = await rows_of(engine, _paged(query, teams.c.id, after_id, limit))
    return [TeamView(**row) for row in rows]


async def keys_page(
    engine: AsyncEngine, which: KeyFilter, *, after_id: str | None, limit: int
) -> list[KeyView]:
    """Keys, oldest first, revoked and expired ones too (each shows its state)."""
    query = select(*KEY_COLUMNS)
    if which.org_id is not None:
        query = query.where(virtual_keys.c.org_id == which.org_id)
    if which.team_id is not None:
        query = query.where(virtual_keys.c.team_id == which.team_id)
    if which.user_id is not None:
        query = query.where(virtual_keys.c.user_id == which.user_id)
    rows = await rows_of(engine, _paged(query, virtual_keys.c.id, after_id, limit))
    return [KeyView(**row) for row in rows]
