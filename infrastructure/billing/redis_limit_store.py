"""A request's rate limits and budgets in Redis, shared by every replica: one Lua script
(EVALSHA) per admission checks every rate bucket and every budget window and only then takes
from all of them, and one per finish settles the reservation and refunds the unused tokens.
Admissions, and finishes, that come while one is on its way go together in the next call of
their script, run there one after the other: under load a request shares its round trip.

The scripts compose the same Lua functions as `RedisRateLimiter`'s and `RedisBudgetLedger`'s
(`redis_rate_lua`, `redis_budget_lua`), the rate buckets' keys and arguments first and the
budget's after them, so the three agree on every key they share. Seeding, spend and the janitor
are the ledger's. One Redis, not a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from domains.billing.budget import (
    Amount,
    Budget,
    Reservation,
    merged_windows,
)
from domains.billing.limit_store import BudgetOutcome
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision, buckets, decide, token_buckets
from domains.shared.ids import new_id
from infrastructure.billing.call_batches import CallBatches
from infrastructure.billing.redis_budget_ledger import RedisBudgetLedger
from infrastructure.billing.redis_budget_lua import (
    BUDGET_LUA,
    Layout,
    finish_layout,
    read_finish,
    read_reserve,
    reserve_layout,
)
from infrastructure.billing.redis_pool import BoundedRedis
from infrastructure.billing.redis_rate_lua import (
    RATE_LUA,
    acquire_layout,
    read_acquire,
    refund_layout,
)

# Admissions one after the other. ARGV[1]: how many; then per admission r, w, per bucket its
# capacity and cost in parts, then (w > 0) the reservation's (budget_check). KEYS per admission:
# r rate buckets, then w budget windows, the record and the pending set (none when w is 0).
# Answers per admission rate_answer's figures, then (unless the rates refused, or w is 0) the
# budget's answer. Each sees what those before it took, as separate calls would.
_ADMIT = """
local answers, k, a = {}, 0, 1
for s = 1, tonumber(ARGV[1]) do
  local r, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ok, used, at = rate_check(k, r, a + 2)
  local answer = rate_answer(ok, used)
  if ok and w == 0 then rate_take(k, r, a + 2, used, at) end
  if ok and w > 0 then
    local outcome, held = budget_check(k + r, w, a + 2 + 2 * r)
    if not outcome then
      rate_take(k, r, a + 2, used, at)
      outcome = budget_hold(k + r, w, a + 2 + 2 * r, held)
    end
    for i = 1, #outcome do answer[#answer + 1] = outcome[i] end
  end
  answers[s] = answer
  k, a = k + r + (w > 0 and w + 2 or 0), a + 2 + 2 * r + (w > 0 and 7 + 3 * w or 0)
end
return answers
"""

# Settlements one after the other. ARGV[1]: how many; then per settlement r, w, per token bucket
# its capacity and the parts given back, then (w > 0) the finish's (budget_finish). KEYS per
# settlement: r token buckets, then w windows, the record and the pending set (none if w is 0).
# Answers per settlement budget_finish's answer ({1} without a reservation). The tokens go back
# only with the reservation's first settlement.
_FINISH = """
local answers, k, a = {}, 0, 1
for s = 1, tonumber(ARGV[1]) do
  local r, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 2
  local after = {1}
  if w > 0 then after = budget_finish(k + r, w, a + 2 * r) end
  if after[1] == 1 then rate_refund(k, r, a) end
  answers[s] = after
  k, a = k + r + (w > 0 and w + 2 or 0), a + 2 * r + (w > 0 and 6 + w or 0)
end
return answers
"""

# At ~40 µs of Redis time each, a batch holds other clients up for under a millisecond.
_MOST_AT_ONCE = 16


class RedisLimitStore:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._ns, self._clock = namespace, clock
        self._redis = redis
        self.ledger = RedisBudgetLedger(redis, namespace, clock=clock)
        self._admit = redis.register_script(RATE_LUA + BUDGET_LUA + _ADMIT)
        self._finish = redis.register_script(RATE_LUA + BUDGET_LUA + _FINISH)
        self._admissions = CallBatches(self._admit_all, most=_MOST_AT_ONCE)
        self._finishes = CallBatches(self._finish_all, most=_MOST_AT_ONCE)

    async def admit(
        self,
        rates: Sequence[RateLimit],
        tokens: int,
        budgets: Sequence[Budget],
        amount: Amount,
        *,
        now: datetime,
        ttl: float = 600,
        require_seed: bool = False,
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        chosen = buckets(rates, tokens)
        windows = merged_windows(budgets, now)
        if not windows:
            if not rates:
                return None, None
            if not chosen:
                return decide(chosen, []), None
        keys, args = acquire_layout(self._ns, chosen)
        held = None
        if windows:
            held = Reservation(new_id(), tuple(windows), amount, self._clock() + ttl)
            budget_keys, budget_args = reserve_layout(self._ns, windows, held, ttl, require_seed)
            keys += budget_keys
            args += budget_args
        answer = await self._admissions.call((keys, [len(chosen), len(windows), *args]))
        decision = read_acquire(chosen, answer[: len(chosen) + 1])
        shown = decision if rates else None
        if held is None or not decision.allowed:
            return shown, None
        return shown, read_reserve(answer[len(chosen) + 1 :], held)

    async def finish(
        self,
        rates: Sequence[RateLimit],
        refund_tokens: int,
        reservation: Reservation | None,
        actual: Amount,
    ) -> list[Amount]:
        if refund_tokens < 0:
            raise ValueError("a refund cannot be negative")
        chosen = token_buckets(rates) if refund_tokens else []
        windows = list(reservation.keys) if reservation is not None else []
        if not chosen and not windows:
            return []
        keys, args = refund_layout(self._ns, chosen, refund_tokens)
        if reservation is not None and windows:
            budget_keys, budget_args = finish_layout(
                self._ns, reservation.id, windows, actual, "settle", 0.0
            )
            keys += budget_keys
            args += budget_args
        return await self._finishes.call((keys, [len(chosen), len(windows), *args]))

    async def _admit_all(self, layouts: list[Layout]) -> list[list[object]]:
        """Admissions in one call of the script; each one's answer."""
        keys = [key for layout_keys, _ in layouts for key in layout_keys]
        args: list[str | int] = [len(layouts)]
        for _, layout_args in layouts:
            args += layout_args
        answers: list[list[object]] = await self._run(self._admit, keys, args)
        return answers

    async def _finish_all(self, layouts: list[Layout]) -> list[list[Amount]]:
        """Settlements in one call of the script; each one's spends after."""
        keys = [key for layout_keys, _ in layouts for key in layout_keys]
        args: list[str | int] = [len(layouts)]
        for _, layout_args in layouts:
            args += layout_args
        answers = await self._run(self._finish, keys, args)
        return [read_finish(answer)[1] for answer in answers]

    async def _run(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> Any:
        """The limit store's client runs it below redis-py's client layer; any other the usual
        way."""
        if isinstance(self._redis, BoundedRedis):
            return await self._redis.run_script(script, keys, args)
        return await script(keys=keys, args=args)

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        return await self.ledger.spent(budget, now=now)

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        await self.ledger.seed(budget, spent, now=now)

    async def release_expired(self) -> int:
        return await self.ledger.release_expired()
