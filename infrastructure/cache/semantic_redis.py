"""The semantic cache's index in Redis, shared by every replica, each searching a mirror in its
own memory.

A partition's vectors are a Redis stream, `<namespace>:semantic:<partition>`: one entry per
stored answer (`k` its exact cache key, `v` the vector, `e` when it expires), trimmed to about
`max_entries_per_partition`, expiring with its last entry. A lookup reads what the stream got
since the mirror last read it (one `XRANGE`, nearly always empty) and searches the mirror by
brute force. A sorted set of the partitions (`<namespace>:semantic:index`) bounds how many
there are: past `max_partitions`, the least recently written go. The mirror keeps at most
`max_entries` vectors (past it, the least recently used partitions go, read again when asked).

Why not Redis's own vector search (`FT.CREATE ... VECTOR`): it needs the query engine module,
which Redis Open Source 8 builds in but the Redis packaged by the distributions (7.x, and 8
without its modules) does not have; a stream and a mirror work on any Redis, and a lookup
costs one round trip either way."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
import redis.exceptions
import structlog

if TYPE_CHECKING:
    from infrastructure.cache.vector_block import VectorBlock


log = structlog.get_logger("fluxrouter.cache")
FAILURES = (redis.exceptions.RedisError, OSError, TimeoutError)


class _Mirror:
    __slots__ = ("block", "last")

    def __init__(self, block: VectorBlock) -> None:
        self.block = block
        self.last: bytes | None = None


class RedisSemanticIndex:
    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str,
        *,
        max_entries: int,
        max_entries_per_partition: int,
        max_partitions: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:semantic:"
        self._index = f"{namespace}:semantic:index"
        self._max = max_entries
        self._per_partition = min(max_entries_per_partition, max_entries)
        self._partitions = max_partitions
        self._clock = clock
        self._mirrors: OrderedDict[str, _Mirror] = OrderedDict()
        self._count = 0

    async def nearest(self, partition: str, vector: bytes) -> tuple[str, float] | None:
        mirror = self._mirrors.get(partition)
        if mirror is None:
            mirror = self._mirrors[partition] = _Mirror(new_block(self._per_partition))
        self._mirrors.move_to_end(partition)
        while len(self._mirrors) > self._partitions:  # (those looked up and still empty too)
            _, dropped = self._mirrors.popitem(last=False)
            self._count -= len(dropped.block)
        try:
            await self._catch_up(partition, mirror)
        except FAILURES as error:
            log.warning("cache.unavailable", error=type(error).__name__)
            return None  # a cache that cannot answer is a miss, never an error
        return mirror.block.nearest(vector, self._clock())

    async def _catch_up(self, partition: str, mirror: _Mirror) -> None:
        name = self._prefix + partition
        entries: list[Any]
        if mirror.last is None:  # the newest, at most a block's worth
            newest = await self._redis.xrevrange(name, count=self._per_partition)
            entries = list(reversed(newest or []))
        else:
            entries = list(await self._redis.xrange(name, min=b"(" + mirror.last) or [])
        block = mirror.block
        before = len(block)
        for entry_id, fields in entries:
            try:
                block.add(fields[b"v"], fields[b"k"].decode(), float(fields[b"e"]))
            except (KeyError, ValueError, UnicodeDecodeError):
                continue  # (written by another version)
            mirror.last = entry_id
        if mirror.last is None:
            mirror.last = b"0-0"
        self._count += len(block) - before
        while self._count > self._max and len(self._mirrors) > 1:
            _, dropped = self._mirrors.popitem(last=False)
            self._count -= len(dropped.block)

    async def add(self, partition: str, vector: bytes, key: str, ttl_seconds: int) -> None:
        name = self._prefix + partition
        now = self._clock()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(
                    name,
                    {"k": key, "v": vector, "e": repr(now + ttl_seconds)},
                    maxlen=self._per_partition,
                    approximate=True,
                )
                pipe.expire(name, ttl_seconds)
                pipe.zadd(self._index, {name: now})
                pipe.zcard(self._index)
                *_, count = await pipe.execute()
            over = int(count) - self._partitions
            if over > 0:
                oldest = await self._redis.zpopmin(self._index, over)
                names = [pair[0] for pair in oldest if isinstance(pair, (tuple, list))]
                if names:
                    await self._redis.delete(*names)
        except FAILURES as error:
            log.warning("cache.store_failed", error=type(error).__name__)


def new_block(capacity: int) -> VectorBlock:
    """A partition's block (numpy loads with the first: a gateway starts as fast with the
    semantic cache on)."""
    from infrastructure.cache.vector_block import VectorBlock

    return VectorBlock(capacity)
