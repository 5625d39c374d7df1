"""The rows of a kind of bearer token (a person's admin tokens, an org's SCIM tokens): added, read
for update, and revoked. A token's columns are its dataclass's fields, by name."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Generic, Protocol, TypeVar, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.shared.aggregate import Aggregate


class BearerToken(Protocol):
    id: str
    revoked_at: datetime | None


Token = TypeVar("Token", bound=BearerToken)


class SqlBearerTokens(Generic[Token]):
    def __init__(
        self, conn: AsyncConnection, seen: list[Aggregate], table: Table, kind: type[Token]
    ) -> None:
        self._conn, self._seen, self._table, self._kind = conn, seen, table, kind
        self._fields = [field.name for field in dataclasses.fields(kind)]  # type: ignore[arg-type]

    async def add(self, token: Token) -> None:
        values = {name: getattr(token, name) for name in self._fields}
        await self._conn.execute(self._table.insert().values(**values))
        self._seen.append(cast(Aggregate, token))

    async def get(self, token_id: str) -> Token | None:
        query = select(self._table).where(self._table.c.id == token_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        token = self._kind(**{name: getattr(row, name) for name in self._fields})
        self._seen.append(cast(Aggregate, token))
        return token

    async def save(self, token: Token) -> None:
        await self._conn.execute(
            update(self._table)
            .where(self._table.c.id == token.id)
            .values(revoked_at=token.revoked_at)
        )
