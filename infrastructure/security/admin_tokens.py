"""Who holds an admin token: read on every admin request (no cache), so revoking the token or
deactivating its user takes effect on the next request, on every replica."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.teams.model import hash_secret
from infrastructure.db.tables import admin_tokens, users


class TokenHolder(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    org_id: str
    role: str


async def admin_token_holder(engine: AsyncEngine, secret: str) -> TokenHolder | None:
    """The active user behind an unrevoked token, else None."""
    query = (
        select(users.c.id, users.c.org_id, users.c.role)
        .select_from(admin_tokens.join(users, users.c.id == admin_tokens.c.user_id))
        .where(
            admin_tokens.c.secret_hash == hash_secret(secret),
            admin_tokens.c.revoked_at.is_(None),
            users.c.active.is_(True),
        )
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return TokenHolder(user_id=row.id, org_id=row.org_id, role=row.role)
