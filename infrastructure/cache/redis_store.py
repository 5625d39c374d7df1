"""The response cache in Redis, shared by every replica: `<namespace>:cache:<key>` strings with
their time to live, and an index of when each was stored (`<namespace>:cache:index`, a sorted
set) that bounds how many there are: storing past `max_entries` evicts the oldest. (A Redis
with a `maxmemory` policy of `volatile-lru` or `allkeys-lru` evicts entries under memory
pressure too: every entry has a time to live.)

A store is one script (`STORE`): the entry, its place in the index and the eviction in one
round trip, atomic, and bounded like every other command by the client's connections."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
import redis.exceptions
import structlog

log = structlog.get_logger("fluxrouter.cache")

STORE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do
    redis.call('DEL', oldest[i])
  end
end
return over
"""
"""KEYS: the entry, the index; ARGV: the value, its time to live (s), now, `max_entries`."""


class RedisCacheStore:
    def __init__(self, client: aioredis.Redis, namespace: str, max_entries: int) -> None:
        self._redis = client
        self._prefix = f"{namespace}:cache:"
        self._index = f"{namespace}:cache:index"
        self._max = max_entries
        self._store = client.register_script(STORE)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as error:
            log.warning("cache.unavailable", error=type(error).__name__)
            return None  # a cache that cannot answer is a miss, never an error
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        try:
            await self._store(
                keys=[self._prefix + key, self._index],
                args=[value, ttl_seconds, repr(time.time()), self._max],
            )
        except (redis.exceptions.RedisError, OSError, TimeoutError) as error:
            log.warning("cache.store_failed", error=type(error).__name__)
