"""Single-use state shared by every replica, in the database.

`put` keeps what a sign-in under way must find again (an OIDC `state`, a SAML request id) and
`take` hands it out once: of two callbacks racing with the same state, one gets it. `first_time`
is the replay cache: True only the first time a key (a SAML assertion id) is seen before it
expires. Keys are stored as their SHA-256, each kind apart; expired rows are swept as new ones
come in.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.engine import writing
from infrastructure.db.tables import sso_one_time


def _hash(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}\x00{key}".encode()).hexdigest()


class OneTimeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, kind: str, key: str, data: str, *, ttl: float) -> None:
        now = time.time()
        async with writing(self._engine) as conn:
            await conn.execute(delete(sso_one_time).where(sso_one_time.c.expires_at < now))
            await conn.execute(
                sso_one_time.insert().values(
                    key_hash=_hash(kind, key), data=data, expires_at=now + ttl
                )
            )

    async def take(self, kind: str, key: str) -> str | None:
        """What was put under the key, once; None when unknown, taken already, or expired."""
        key_hash = _hash(kind, key)
        async with writing(self._engine) as conn:
            row = (
                await conn.execute(
                    select(sso_one_time.c.data, sso_one_time.c.expires_at).where(
                        sso_one_time.c.key_hash == key_hash
                    )
                )
            ).first()
            if row is None:
                return None
            gone = await conn.execute(
                delete(sso_one_time).where(sso_one_time.c.key_hash == key_hash)
            )
        if gone.rowcount != 1 or row.expires_at <= time.time():
            return None
        return str(row.data) if row.data is not None else ""

    async def first_time(self, kind: str, key: str, *, until: float) -> bool:
        """Remembers the key until `until` (Unix time); False when it was seen already."""
        now = time.time()
        try:
            async with writing(self._engine) as conn:
                await conn.execute(delete(sso_one_time).where(sso_one_time.c.expires_at < now))
                await conn.execute(
                    sso_one_time.insert().values(
                        key_hash=_hash(kind, key), data=None, expires_at=max(until, now + 60)
                    )
                )
        except IntegrityError:
            return False
        return True
