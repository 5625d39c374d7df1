"""Budget windows shared by every replica, in Redis: their spend, their seeding from the
database, and the janitor that frees reservations past their expiry (one Lua script per
reservation, a call of the budget functions in `redis_budget_lua` with nothing beside them).
Reserving and settling are the limit store's (`redis_limit_store`), on the same keys. Window
hashes and reservation records are described in `redis_budget_lua`. One Redis, not a cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import redis.asyncio as aioredis

from domains.billing.budget import (
    ZERO,
    Amount,
    Budget,
)
from infrastructure.billing.redis_budget_lua import (
    BUDGET_LUA,
    DECIMAL_LUA,
    expire_at,
    finish_layout,
    pending_key,
    read_finish,
    text,
    window_key,
)

# KEYS: windows, record, pending. ARGV: the finish's (see budget_finish).
_FINISH = """
local after = budget_finish(0, #KEYS - 2, 0)
budget_flush()
return after
"""

# KEYS: the window. ARGV: spent pusd, spent tok, expire_at of a new window (0: never).
_SEED = """
local h = redis.call('HMGET', KEYS[1], 'seeded', 'spent_pusd', 'spent_tok')
if h[1] then return 0 end
local new = redis.call('EXISTS', KEYS[1]) == 0
local sp, st = h[2] or '0', h[3] or '0'
redis.call('HSET', KEYS[1], 'seeded', '1', 'spent_pusd', cmp(sp, ARGV[1]) >= 0 and sp or ARGV[1],
  'spent_tok', cmp(st, ARGV[2]) >= 0 and st or ARGV[2])
if new and tonumber(ARGV[3]) > 0 then redis.call('EXPIREAT', KEYS[1], ARGV[3]) end
return 1
"""

_BATCH = 100


class RedisBudgetLedger:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis, self._ns, self._clock = redis, namespace, clock
        self._pending = pending_key(namespace)
        self._finish = redis.register_script(BUDGET_LUA + _FINISH)
        self._seed = redis.register_script(DECIMAL_LUA + _SEED)

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        fields = ("spent_pusd", "spent_tok", "reserved_pusd", "reserved_tok")
        values = await self._redis.hmget(window_key(self._ns, budget.key(now)), fields)
        sp, st, rp, rt = (int(text(value) or 0) for value in values)
        return Amount(sp, st), Amount(rp, rt)

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        key = budget.key(now)
        args = [spent.picousd, spent.tokens, expire_at(key, time.time())]
        await self._seed(keys=[window_key(self._ns, key)], args=args)

    async def release_expired(self) -> int:
        """Releases the reservations past their expiry, each in one script; how many."""
        released = 0
        while True:
            now = self._clock()
            due = await self._redis.zrangebyscore(self._pending, "-inf", now, start=0, num=_BATCH)
            progress = False
            for rid in (text(member) for member in due):
                listed = await self._redis.hget(f"{self._ns}:reservation:{rid}", "keys")
                windows: list[str] = json.loads(text(listed)) if listed is not None else []
                outcome, _ = await self._finish_one(rid, windows, ZERO, "expire", now)
                released += outcome == 1
                progress = progress or outcome != 0
            if len(due) < _BATCH or not progress:
                return released

    async def _finish_one(
        self, rid: str, windows: list[str], actual: Amount, mode: str, now: float
    ) -> tuple[int, list[Amount]]:
        """The script's outcome and, when it charged, each window's spend after."""
        keys, args = finish_layout(self._ns, rid, windows, actual, mode, now)
        return read_finish(await self._finish(keys=keys, args=args))
