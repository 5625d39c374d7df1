"""Teams repositories over SQLAlchemy Core, and the key lookup used by authentication."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domains.shared.aggregate import Aggregate
from domains.shared.caller import Caller
from domains.shared.errors import Conflict
from domains.teams.management import OrgHoldings
from domains.teams.model import Org, Team, VirtualKey
from infrastructure.db.tables import (
    orgs,
    scim_tokens,
    sso_connections,
    teams,
    users,
    virtual_keys,
)


class SqlOrgRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, org: Org) -> None:
        await self._conn.execute(
            orgs.insert().values(
                id=org.id,
                name=org.name,
                created_at=org.created_at,
                metadata=org.metadata or None,
                deleted_at=org.deleted_at,
                sign_in_domains=list(org.sign_in_domains) or None,
            )
        )
        self._seen.append(org)

    async def get(self, org_id: str) -> Org | None:
        row = (await self._conn.execute(select(orgs).where(orgs.c.id == org_id))).first()
        if row is None:
            return None
        org = Org(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            metadata=row.metadata or {},
            deleted_at=row.deleted_at,
            sign_in_domains=tuple(row.sign_in_domains or ()),
        )
        self._seen.append(org)
        return org

    async def save(self, org: Org) -> None:
        await self._conn.execute(
            update(orgs)
            .where(orgs.c.id == org.id)
            .values(
                name=org.name,
                metadata=org.metadata or None,
                deleted_at=org.deleted_at,
                sign_in_domains=list(org.sign_in_domains) or None,
            )
        )

    async def holdings(self, org_id: str) -> OrgHoldings:
        # FOR UPDATE: waits for rows being added that refer to the org (they hold KEY SHARE)
        await self._conn.execute(select(orgs.c.id).where(orgs.c.id == org_id).with_for_update())

        async def count(table: Any, *where: Any) -> int:
            query = select(func.count()).select_from(table).where(table.c.org_id == org_id, *where)
            return int((await self._conn.execute(query)).scalar_one())

        return OrgHoldings(
            teams=await count(teams, teams.c.deleted_at.is_(None)),
            scim_tokens=await count(scim_tokens, scim_tokens.c.revoked_at.is_(None)),
            sso_connections=await count(sso_connections),
        )

    async def active_user_ids(self, org_id: str) -> list[str]:
        query = (
            select(users.c.id)
            .where(users.c.org_id == org_id, users.c.active.is_(True))
            .order_by(users.c.id)
        )
        return list((await self._conn.execute(query)).scalars().all())


class SqlTeamRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, team: Team) -> None:
        """Refuses (Conflict) a name another team of the org has, a deleted one too."""
        await self._refuse_taken(team)
        await self._conn.execute(
            teams.insert().values(
                id=team.id,
                org_id=team.org_id,
                name=team.name,
                created_at=team.created_at,
                metadata=team.metadata or None,
                deleted_at=team.deleted_at,
                log_bodies=team.log_bodies,
            )
        )
        self._seen.append(team)

    async def get(self, team_id: str) -> Team | None:
        return await self._one(select(teams).where(teams.c.id == team_id))

    async def find_by_name(self, org_id: str, name: str) -> Team | None:
        return await self._one(select(teams).where(teams.c.org_id == org_id, teams.c.name == name))

    async def _refuse_taken(self, team: Team) -> None:
        taken = await self._conn.execute(
            select(teams.c.id).where(
                teams.c.org_id == team.org_id, teams.c.name == team.name, teams.c.id != team.id
            )
        )
        if taken.first() is not None:
            raise Conflict(f"the org has a team named {team.name!r} already")

    async def save(self, team: Team) -> None:
        await self._refuse_taken(team)
        try:
            await self._conn.execute(
                update(teams)
                .where(teams.c.id == team.id)
                .values(
                    name=team.name,
                    metadata=team.metadata or None,
                    deleted_at=team.deleted_at,
                    log_bodies=team.log_bodies,
                )
            )
        except IntegrityError as exc:
            raise Conflict(f"the org has a team named {team.name!r} already") from exc

    async def _one(self, query: Any) -> Team | None:
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        team = Team(
            id=row.id,
            org_id=row.org_id,
            name=row.name,
            created_at=row.created_at,
            metadata=row.metadata or {},
            deleted_at=row.deleted_at,
            log_bodies=row.log_bodies,
        )
        self._seen.append(team)
        return team


def _key_from_row(row: Any) -> VirtualKey:
    return VirtualKey(
        id=row.id,
        team_id=row.team_id,
        org_id=row.org_id,
        name=row.name,
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        user_id=row.user_id,
        models=tuple(row.models) if row.models is not None else None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        metadata=row.metadata or {},
        log_bodies=row.log_bodies,
    )


class SqlKeyRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, key: VirtualKey) -> None:
        await self._conn.execute(
            virtual_keys.insert().values(
                id=key.id,
                team_id=key.team_id,
                org_id=key.org_id,
                user_id=key.user_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                models=list(key.models) if key.models is not None else None,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                expires_at=key.expires_at,
                metadata=key.metadata or None,
                log_bodies=key.log_bodies,
            )
        )
        self._seen.append(key)

    async def get(self, key_id: str) -> VirtualKey | None:
        row = (
            await self._conn.execute(select(virtual_keys).where(virtual_keys.c.id == key_id))
        ).first()
        if row is None:
            return None
        key = _key_from_row(row)
        self._seen.append(key)
        return key

    async def unrevoked_of_team(self, team_id: str) -> list[VirtualKey]:
        query = (
            select(virtual_keys)
            .where(virtual_keys.c.team_id == team_id, virtual_keys.c.revoked_at.is_(None))
            .order_by(virtual_keys.c.id)
        )
        found = [_key_from_row(row) for row in (await self._conn.execute(query)).all()]
        self._seen.extend(found)
        return found

    async def save(self, key: VirtualKey) -> None:
        await self._conn.execute(
            update(virtual_keys)
            .where(virtual_keys.c.id == key.id)
            .values(
                revoked_at=key.revoked_at,
                name=key.name,
                expires_at=key.expires_at,
                metadata=key.metadata or None,
                log_bodies=key.log_bodies,
            )
        )


class SqlKeyLookup:
    """The read the hot path makes on a cache miss: the caller behind an active key's hash.
    A key issued for a person is active only while that person is (not deactivated, not
    deleted); a `user_id` naming no person of the database leaves the key as it is."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def find_active(self, secret_hash: str) -> Caller | None:
        query = _active_keys().where(virtual_keys.c.secret_hash == secret_hash)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _caller_from_row(row) if row is not None else None

    async def active_of_user(self, user_id: str) -> list[Caller]:
        """The callers behind a person's active keys (none once the person is inactive), oldest
        key first; expired keys are the caller's to leave out."""
        query = (
            _active_keys()
            .where(virtual_keys.c.user_id == user_id)
            .order_by(virtual_keys.c.created_at, virtual_keys.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_caller_from_row(row) for row in rows]


def _active_keys() -> Any:
    return select(
        virtual_keys.c.id,
        virtual_keys.c.prefix,
        virtual_keys.c.team_id,
        virtual_keys.c.org_id,
        virtual_keys.c.user_id,
        virtual_keys.c.models,
        virtual_keys.c.expires_at,
        or_(
            virtual_keys.c.log_bodies,
            select(teams.c.log_bodies)
            .where(teams.c.id == virtual_keys.c.team_id)
            .scalar_subquery(),
        ).label("log_bodies"),
    ).where(
        virtual_keys.c.revoked_at.is_(None),
        or_(
            virtual_keys.c.user_id.is_(None),
            ~exists().where(and_(users.c.id == virtual_keys.c.user_id, users.c.active.is_(False))),
        ),
    )


def _caller_from_row(row: Any) -> Caller:
    return Caller(
        key_id=row.id,
        key_prefix=row.prefix,
        team_id=row.team_id,
        org_id=row.org_id,
        user_id=row.user_id,
        models=tuple(row.models) if row.models is not None else None,
        expires_at=row.expires_at.timestamp() if row.expires_at is not None else None,
        log_bodies=bool(row.log_bodies),
    )
