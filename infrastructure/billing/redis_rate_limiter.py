"""Rate limits shared by every replica, in Redis: one Lua script (EVALSHA) per acquire checks and
takes from every bucket at once, so racing replicas cannot overrun a limit between them. The
scripts call the bucket functions in `redis_rate_lua` (where the buckets are described) with
nothing beside them. One Redis, not a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision, buckets, decide, refund_buckets
from infrastructure.billing.redis_rate_lua import (
    RATE_LUA,
    acquire_layout,
    read_acquire,
    refund_layout,
)

# KEYS: buckets. ARGV: per bucket, its capacity and cost in parts. Takes every cost or none.
_ACQUIRE = """
local ok, used, at = rate_check(0, #KEYS, 0)
if ok then rate_take(0, #KEYS, 0, used, at) end
rate_flush()
return rate_answer(ok, used)
"""

# KEYS: token buckets. ARGV: per bucket, its capacity and the parts given back.
_REFUND = """
rate_refund(0, #KEYS, 0)
rate_flush()
return 0
"""


class RedisRateLimiter:
    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self._redis, self._ns = redis, namespace
        self._acquire = redis.register_script(RATE_LUA + _ACQUIRE)
        self._refund = redis.register_script(RATE_LUA + _REFUND)

    async def acquire(self, limits: Sequence[RateLimit], tokens: int) -> RateDecision:
        chosen = buckets(limits, tokens)
        if not chosen:
            return decide(chosen, [])
        keys, args = acquire_layout(self._ns, chosen)
        return read_acquire(chosen, await self._acquire(keys=keys, args=args))

    async def refund(self, limits: Sequence[RateLimit], tokens: int) -> None:
        chosen = refund_buckets(limits, tokens)  # a negative refund raises here
        if not chosen:
            return
        keys, args = refund_layout(self._ns, chosen)
        await self._refund(keys=keys, args=args)
