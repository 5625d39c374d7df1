"""SSO connections and the identities signed in through them, over SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.teams.sso import SsoConnection, as_kind, role_map_of
from domains.teams.users import as_role
from infrastructure.db.tables import sso_connections, sso_identities, sso_sessions


def connection_from_row(row: Any) -> SsoConnection:
    return SsoConnection(
        id=row.id,
        org_id=row.org_id,
        kind=as_kind(row.kind),
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret_sealed=row.client_secret_sealed,
        scopes=tuple(row.scopes or ()),
        groups_claim=row.groups_claim,
        idp_metadata_xml=row.idp_metadata_xml,
        idp_entity_id=row.idp_entity_id,
        role_map=role_map_of(row.role_map or {}),
        default_role=as_role(row.default_role),
        declared=bool(row.declared),
        set_by=row.set_by,
        set_by_role=as_role(row.set_by_role or "admin"),  # made before it was recorded
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row_of(connection: SsoConnection) -> dict[str, Any]:
    return {
        "issuer": connection.issuer,
        "client_id": connection.client_id,
        "client_secret_sealed": connection.client_secret_sealed,
        "scopes": list(connection.scopes),
        "groups_claim": connection.groups_claim,
        "idp_metadata_xml": connection.idp_metadata_xml,
        "idp_entity_id": connection.idp_entity_id,
        "role_map": {name: grant.as_dict() for name, grant in connection.role_map.items()},
        "default_role": connection.default_role,
        "declared": connection.declared,
        "set_by": connection.set_by,
        "set_by_role": connection.set_by_role,
        "updated_at": connection.updated_at,
    }


class SqlSsoConnectionRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, connection: SsoConnection) -> None:
        await self._conn.execute(
            sso_connections.insert().values(
                id=connection.id,
                org_id=connection.org_id,
                kind=connection.kind,
                created_at=connection.created_at,
                **_row_of(connection),
            )
        )
        self._seen.append(connection)

    async def get(self, connection_id: str) -> SsoConnection | None:
        query = (
            select(sso_connections).where(sso_connections.c.id == connection_id).with_for_update()
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        connection = connection_from_row(row)
        self._seen.append(connection)
        return connection

    async def save(self, connection: SsoConnection) -> None:
        if connection.deleted:
            await self._conn.execute(
                delete(sso_identities).where(sso_identities.c.connection_id == connection.id)
            )
            await self._conn.execute(
                delete(sso_connections).where(sso_connections.c.id == connection.id)
            )
            return
        await self._conn.execute(
            update(sso_connections)
            .where(sso_connections.c.id == connection.id)
            .values(**_row_of(connection))
        )


class SqlSsoIdentityRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def user_for(self, connection_id: str, subject: str) -> str | None:
        query = select(sso_identities.c.user_id).where(
            sso_identities.c.connection_id == connection_id, sso_identities.c.subject == subject
        )
        row = (await self._conn.execute(query)).first()
        return str(row.user_id) if row is not None else None

    async def link(self, connection_id: str, subject: str, user_id: str) -> None:
        await self._conn.execute(
            sso_identities.insert().values(
                connection_id=connection_id, subject=subject, user_id=user_id, created_at=utcnow()
            )
        )


class SqlDashboardSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def end_for_user(self, user_id: str) -> int:
        gone = await self._conn.execute(
            delete(sso_sessions).where(sso_sessions.c.user_id == user_id)
        )
        return int(gone.rowcount or 0)
