"""The admin key: from config, or generated once, stored as a hash, and shown only then."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import system_settings

ADMIN_KEY_SETTING = "admin_key_sha256"
ADMIN_KEY_SCHEME = "fradm-"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_digest)


async def stored_admin_digest(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(system_settings.c.value).where(system_settings.c.name == ADMIN_KEY_SETTING)
            )
        ).first()
    return row[0] if row else None


async def ensure_admin_key(engine: AsyncEngine, configured: str) -> tuple[str, str | None]:
    """(digest of the admin key, the new secret if one was generated just now, else None)."""
    if configured:
        return digest(configured), None
    stored = await stored_admin_digest(engine)
    if stored is not None:
        return stored, None
    secret = ADMIN_KEY_SCHEME + secrets.token_urlsafe(32)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                system_settings.insert().values(name=ADMIN_KEY_SETTING, value=digest(secret))
            )
    except IntegrityError:  # another process generated one first
        stored = await stored_admin_digest(engine)
        assert stored is not None
        return stored, None
    return digest(secret), secret
