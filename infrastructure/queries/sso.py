"""Reads for single sign-on: an org's connections, and the teams a person belongs to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.teams.sso import SsoConnection
from infrastructure.db.repositories.sso import connection_from_row
from infrastructure.db.tables import (
    directory_groups,
    group_members,
    orgs,
    sso_connections,
    teams,
)


async def connection_by_id(engine: AsyncEngine, connection_id: str) -> SsoConnection | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(sso_connections).where(sso_connections.c.id == connection_id))
        ).first()
    return connection_from_row(row) if row is not None else None


async def connections_of(engine: AsyncEngine, org_id: str | None) -> list[SsoConnection]:
    """An org's connections (every org's for None), oldest first."""
    query = select(sso_connections).order_by(sso_connections.c.created_at, sso_connections.c.id)
    if org_id is not None:
        query = query.where(sso_connections.c.org_id == org_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [connection_from_row(row) for row in rows]


async def sign_in_domains_of(engine: AsyncEngine, org_id: str) -> list[str]:
    """The e-mail domains the org declares it owns."""
    query = select(orgs.c.sign_in_domains).where(orgs.c.id == org_id)
    async with engine.connect() as conn:
        found = (await conn.execute(query)).scalar_one_or_none()
    return list(found or ())


async def teams_of_user(engine: AsyncEngine, user_id: str) -> list[dict[str, str]]:
    """The teams a person is in through their directory groups, by name."""
    query = (
        select(teams.c.id, teams.c.name)
        .select_from(
            group_members.join(
                directory_groups, directory_groups.c.id == group_members.c.group_id
            ).join(teams, teams.c.id == directory_groups.c.team_id)
        )
        .where(group_members.c.user_id == user_id)
        .distinct()
        .order_by(teams.c.name)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [{"id": row.id, "name": row.name} for row in rows]
