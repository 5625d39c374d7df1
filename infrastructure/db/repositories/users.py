"""User and admin-token repositories over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.shared.aggregate import Aggregate
from domains.shared.errors import Conflict
from domains.teams.users import AdminToken, User, email_key, user_name_key
from infrastructure.db.repositories.bearer_tokens import SqlBearerTokens
from infrastructure.db.tables import admin_tokens, orgs, users

EMAIL_TAKEN = "a user with this email is already in the org"
NAME_TAKEN = "a user with this userName or externalId is already in the org"


def user_from_row(row: Any) -> User:
    return User(
        id=row.id,
        org_id=row.org_id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        active=bool(row.active),
        external_id=row.external_id,
        created_at=row.created_at,
        user_name=row.user_name,
        attributes=dict(row.attributes or {}),
        version=row.version,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


def _unique_keys(user: User) -> dict[str, Any]:
    """The columns two people of an org may not share; a deleted person holds none."""
    if user.deleted:
        return {"email_key": None, "user_name_key": None}
    return {"email_key": user.email_key, "user_name_key": user.user_name_key}


def _row_of(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "external_id": user.external_id,
        "user_name": user.user_name,
        "attributes": user.attributes or None,
        "version": user.version,
        "updated_at": user.updated_at,
        "deleted_at": user.deleted_at,
        **_unique_keys(user),
    }


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, user: User) -> None:
        await self._refuse_taken(user)
        try:
            await self._conn.execute(
                users.insert().values(
                    id=user.id, org_id=user.org_id, created_at=user.created_at, **_row_of(user)
                )
            )
        except IntegrityError as exc:  # the same names, added by a concurrent request
            raise Conflict(NAME_TAKEN if user.user_name else EMAIL_TAKEN) from exc
        self._seen.append(user)

    async def _refuse_taken(self, user: User) -> None:
        keys = _unique_keys(user)
        for column, value, message in (
            (users.c.email_key, keys["email_key"], EMAIL_TAKEN),
            (users.c.user_name_key, keys["user_name_key"], NAME_TAKEN),
            (users.c.external_id, user.external_id, NAME_TAKEN),
        ):
            if value is None:
                continue
            taken = await self._conn.execute(
                select(users.c.id).where(
                    users.c.org_id == user.org_id, column == value, users.c.id != user.id
                )
            )
            if taken.first() is not None:
                raise Conflict(message)

    async def get(self, user_id: str) -> User | None:
        query = select(users).where(users.c.id == user_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        user = user_from_row(row)
        self._seen.append(user)
        return user

    async def save(self, user: User) -> None:
        await self._refuse_taken(user)
        try:
            await self._conn.execute(
                update(users).where(users.c.id == user.id).values(**_row_of(user))
            )
        except IntegrityError as exc:
            raise Conflict(NAME_TAKEN if user.user_name else EMAIL_TAKEN) from exc

    async def find_for_sign_in(
        self, org_id: str, *, user_name: str | None, email: str | None
    ) -> User | None:
        for column, value in (
            (users.c.user_name_key, user_name_key(user_name) if user_name else None),
            (users.c.email_key, email_key(email) if email else None),
        ):
            if value is None:
                continue
            found = await self._conn.execute(
                select(users.c.id).where(
                    users.c.org_id == org_id, column == value, users.c.deleted_at.is_(None)
                )
            )
            row = found.first()
            if row is not None:
                return await self.get(row.id)
        return None

    async def live_ids(self, org_id: str, user_ids: Iterable[str]) -> set[str]:
        wanted = list(set(user_ids))
        if not wanted:
            return set()
        query = select(users.c.id).where(
            users.c.org_id == org_id, users.c.id.in_(wanted), users.c.deleted_at.is_(None)
        )
        return {row.id for row in (await self._conn.execute(query)).all()}

    async def count_active_owners(self, org_id: str) -> int:
        # NO KEY UPDATE: rows referring to the org (new teams, keys, users) may still be added
        await self._conn.execute(
            select(orgs.c.id).where(orgs.c.id == org_id).with_for_update(key_share=True)
        )
        query = select(func.count()).where(
            users.c.org_id == org_id, users.c.role == "owner", users.c.active.is_(True)
        )
        return int((await self._conn.execute(query)).scalar_one())


class SqlAdminTokenRepository(SqlBearerTokens[AdminToken]):
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        super().__init__(conn, seen, admin_tokens, AdminToken)
