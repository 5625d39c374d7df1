"""The response cache in Redis, shared by every replica: `<namespace>:cache:<key>` strings with
their time to live, and an index of when each was stored (`<namespace>:cache:index`, a sorted
set) that bounds how many there are: storing past `max_entries` evicts the oldest. (A Redis
with a `maxmemory` policy of `volatile-lru` or `allkeys-lru` evicts entries under memory
pressure too: every entry has a time to live.)"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
import redis.exceptions
import structlog

log = structlog.get_logger("fluxrouter.cache")


class RedisCacheStore:
    def __init__(self, client: aioredis.Redis, namespace: str, max_entries: int) -> None:
        self._redis = client
        self._prefix = f"{namespace}:cache:"
        self._index = f"{namespace}:cache:index"
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as error:
            log.warning("cache.unavailable", error=type(error).__name__)
            return None  # a cache that cannot answer is a miss, never an error
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(name, value, ex=ttl_seconds)
                pipe.zadd(self._index, {name: time.time()})
                pipe.zcard(self._index)
                *_, count = await pipe.execute()
            over = int(count) - self._max
            if over > 0:
                oldest = await self._redis.zpopmin(self._index, over)
                names = [pair[0] for pair in oldest if isinstance(pair, (tuple, list))]
                if names:
                    await self._redis.delete(*names)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as error:
            log.warning("cache.store_failed", error=type(error).__name__)
