"""Which org a SCIM token provisions: read on every SCIM request (no cache), so a revoked
token is refused from the next request on, on every replica."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.teams.model import hash_secret
from domains.teams.scim_tokens import token_reach
from infrastructure.db.tables import scim_tokens


class ScimTokenHolder(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    org_id: str
    reach: str  # the role it acts with: its minter's (see `domains.teams.scim_tokens`)


async def scim_token_holder(engine: AsyncEngine, secret: str) -> ScimTokenHolder | None:
    query = select(scim_tokens.c.id, scim_tokens.c.org_id, scim_tokens.c.role).where(
        scim_tokens.c.secret_hash == hash_secret(secret), scim_tokens.c.revoked_at.is_(None)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return ScimTokenHolder(token_id=row.id, org_id=row.org_id, reach=token_reach(row.role))


async def scim_tokens_of(engine: AsyncEngine, org_id: str) -> list[dict[str, object]]:
    """An org's SCIM tokens, revoked ones too, oldest first (never a secret or a hash)."""
    query = (
        select(
            scim_tokens.c.id,
            scim_tokens.c.org_id,
            scim_tokens.c.prefix,
            scim_tokens.c.created_at,
            scim_tokens.c.revoked_at,
            scim_tokens.c.role,
        )
        .where(scim_tokens.c.org_id == org_id)
        .order_by(scim_tokens.c.created_at, scim_tokens.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [{str(key): value for key, value in row._mapping.items()} for row in rows]
