"""Where dashboard sessions live: Redis when configured (every replica shares it), else the
database. Both know a session only by the SHA-256 of its cookie.

Marking a session as used is written at most every `TOUCH_EVERY` seconds, so a busy dashboard
does not turn every read into a write; the idle timeout is therefore exact to that much.
"""

from __future__ import annotations

import math

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from application.teams.dashboard_sessions import StoredSession
from infrastructure.db.engine import writing
from infrastructure.db.tables import sso_sessions

TOUCH_EVERY = 30.0


def _live(session: StoredSession, *, idle: float, now: float) -> bool:
    return now < session.expires_at and now < session.last_seen + idle


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, session: StoredSession, *, idle: float) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(sso_sessions.insert().values(**msgspec.structs.asdict(session)))

    async def get(self, id_hash: str, *, idle: float, now: float) -> StoredSession | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(sso_sessions).where(sso_sessions.c.id_hash == id_hash))
            ).first()
        if row is None:
            return None
        session = StoredSession(**row._asdict())
        if not _live(session, idle=idle, now=now):
            await self.delete(id_hash)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            async with writing(self._engine) as conn:
                await conn.execute(
                    update(sso_sessions)
                    .where(sso_sessions.c.id_hash == id_hash)
                    .values(last_seen=now)
                )
            session = msgspec.structs.replace(session, last_seen=now)
        return session

    async def delete(self, id_hash: str) -> StoredSession | None:
        async with writing(self._engine) as conn:
            row = (
                await conn.execute(select(sso_sessions).where(sso_sessions.c.id_hash == id_hash))
            ).first()
            await conn.execute(delete(sso_sessions).where(sso_sessions.c.id_hash == id_hash))
        return StoredSession(**row._asdict()) if row is not None else None

    async def delete_user(self, user_id: str) -> int:
        async with writing(self._engine) as conn:
            gone = await conn.execute(delete(sso_sessions).where(sso_sessions.c.user_id == user_id))
        return int(gone.rowcount or 0)

    async def close(self) -> None:
        return None


class RedisSessionStore:
    """`<ns>:sso:session:<hash>` holds the session (expiring when it would go idle, or at its
    end); `<ns>:sso:user:<id>` the hashes of the person's sessions."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        import redis.asyncio as aioredis  # only where Redis is configured

        self._redis = aioredis.from_url(redis_url)
        self._prefix = f"{namespace}:sso"

    def _key(self, id_hash: str) -> str:
        return f"{self._prefix}:session:{id_hash}"

    def _user_key(self, user_id: str) -> str:
        return f"{self._prefix}:user:{user_id}"

    async def create(self, session: StoredSession, *, idle: float) -> None:
        now = session.created_at
        ttl = max(1, math.ceil(min(now + idle, session.expires_at) - now))
        user_key = self._user_key(session.user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(session.id_hash), msgspec.json.encode(session), ex=ttl)
            pipe.sadd(user_key, session.id_hash)
            pipe.expire(user_key, max(1, math.ceil(session.expires_at - now)), gt=True)
            pipe.expire(user_key, max(1, math.ceil(session.expires_at - now)), nx=True)
            await pipe.execute()

    async def _touch(self, session: StoredSession, *, idle: float, now: float) -> None:
        """Only a session still there is rewritten (XX): one ended meanwhile stays ended."""
        ttl = max(1, math.ceil(min(now + idle, session.expires_at) - now))
        await self._redis.set(
            self._key(session.id_hash), msgspec.json.encode(session), ex=ttl, xx=True
        )

    async def get(self, id_hash: str, *, idle: float, now: float) -> StoredSession | None:
        raw = await self._redis.get(self._key(id_hash))
        if raw is None:
            return None
        session = msgspec.json.decode(raw, type=StoredSession)
        if not _live(session, idle=idle, now=now):
            await self.delete(id_hash)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            session = msgspec.structs.replace(session, last_seen=now)
            await self._touch(session, idle=idle, now=now)
        return session

    async def delete(self, id_hash: str) -> StoredSession | None:
        raw = await self._redis.getdel(self._key(id_hash))
        if raw is None:
            return None
        session = msgspec.json.decode(raw, type=StoredSession)
        await self._redis.srem(self._user_key(session.user_id), id_hash)
        return session

    async def delete_user(self, user_id: str) -> int:
        hashes = await self._redis.smembers(self._user_key(user_id))
        keys = [self._key(h.decode() if isinstance(h, bytes) else str(h)) for h in hashes]
        gone = int(await self._redis.delete(*keys)) if keys else 0
        await self._redis.delete(self._user_key(user_id))
        return gone

    async def close(self) -> None:
        await self._redis.aclose()
