"""Directory groups (with their members) and SCIM tokens over SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.shared.aggregate import Aggregate
from domains.shared.errors import Conflict
from domains.teams.groups import Group, group_name_key
from domains.teams.scim_tokens import ScimToken
from domains.teams.users import Role, as_role
from infrastructure.db.repositories.bearer_tokens import SqlBearerTokens
from infrastructure.db.tables import directory_groups, group_members, scim_tokens

NAME_TAKEN = "a group with this displayName is already in the org"


def _group_row(group: Group) -> dict[str, Any]:
    return {
        "display_name": group.display_name,
        "name_key": group.name_key,
        "external_id": group.external_id,
        "team_id": group.team_id,
        "role": group.role,
        "follows_team_name": group.follows_team_name,
        "version": group.version,
        "updated_at": group.updated_at,
    }


class SqlGroupRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, group: Group) -> None:
        await self._refuse_taken(group)
        try:
            await self._conn.execute(
                directory_groups.insert().values(
                    id=group.id,
                    org_id=group.org_id,
                    created_at=group.created_at,
                    **_group_row(group),
                )
            )
        except IntegrityError as exc:
            raise Conflict(NAME_TAKEN) from exc
        await self._write_members(group.id, group.members, {})
        self._seen.append(group)

    async def find_by_name(self, org_id: str, name: str) -> Group | None:
        query = select(directory_groups.c.id).where(
            directory_groups.c.org_id == org_id, directory_groups.c.name_key == group_name_key(name)
        )
        row = (await self._conn.execute(query)).first()
        return await self.get(row.id) if row is not None else None

    async def get(self, group_id: str) -> Group | None:
        query = select(directory_groups).where(directory_groups.c.id == group_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        members = await self._conn.execute(
            select(group_members.c.user_id, group_members.c.display).where(
                group_members.c.group_id == group_id
            )
        )
        group = Group(
            id=row.id,
            org_id=row.org_id,
            display_name=row.display_name,
            external_id=row.external_id,
            team_id=row.team_id,
            role=as_role(row.role) if row.role is not None else None,
            follows_team_name=bool(row.follows_team_name),
            members={member.user_id: member.display for member in members.all()},
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        self._seen.append(group)
        return group

    async def save(self, group: Group) -> None:
        if group.deleted:
            await self._conn.execute(
                delete(group_members).where(group_members.c.group_id == group.id)
            )
            await self._conn.execute(
                delete(directory_groups).where(directory_groups.c.id == group.id)
            )
            return
        await self._refuse_taken(group)
        try:
            await self._conn.execute(
                update(directory_groups)
                .where(directory_groups.c.id == group.id)
                .values(**_group_row(group))
            )
        except IntegrityError as exc:
            raise Conflict(NAME_TAKEN) from exc
        stored = await self._conn.execute(
            select(group_members.c.user_id, group_members.c.display).where(
                group_members.c.group_id == group.id
            )
        )
        await self._write_members(
            group.id, group.members, {row.user_id: row.display for row in stored.all()}
        )

    async def roles_of(self, user_id: str) -> list[Role]:
        query = (
            select(directory_groups.c.role)
            .select_from(
                group_members.join(
                    directory_groups, directory_groups.c.id == group_members.c.group_id
                )
            )
            .where(group_members.c.user_id == user_id, directory_groups.c.role.is_not(None))
        )
        return [as_role(row.role) for row in (await self._conn.execute(query)).all()]

    async def _refuse_taken(self, group: Group) -> None:
        taken = await self._conn.execute(
            select(directory_groups.c.id).where(
                directory_groups.c.org_id == group.org_id,
                directory_groups.c.name_key == group.name_key,
                directory_groups.c.id != group.id,
            )
        )
        if taken.first() is not None:
            raise Conflict(NAME_TAKEN)

    async def _write_members(
        self, group_id: str, wanted: dict[str, str | None], stored: dict[str, str | None]
    ) -> None:
        gone = [user_id for user_id in stored if user_id not in wanted]
        if gone:
            await self._conn.execute(
                delete(group_members).where(
                    group_members.c.group_id == group_id, group_members.c.user_id.in_(gone)
                )
            )
        relabelled = [
            {"member_group": group_id, "member_user": user_id, "member_display": display}
            for user_id, display in wanted.items()
            if user_id in stored and stored[user_id] != display
        ]
        if relabelled:  # one statement, however many labels changed
            await self._conn.execute(
                update(group_members)
                .where(
                    group_members.c.group_id == bindparam("member_group"),
                    group_members.c.user_id == bindparam("member_user"),
                )
                .values(display=bindparam("member_display")),
                relabelled,
            )
        new = [
            {"group_id": group_id, "user_id": user_id, "display": display}
            for user_id, display in wanted.items()
            if user_id not in stored
        ]
        if new:
            await self._conn.execute(group_members.insert(), new)


class SqlScimTokenRepository(SqlBearerTokens[ScimToken]):
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        super().__init__(conn, seen, scim_tokens, ScimToken)
