"""A request's rate limits and budgets in Redis, shared by every replica: one Lua script
(EVALSHA) checks an admission's every rate bucket and every budget window and only then takes
from all of them, and settles a finished request's reservation and refunds its unused tokens.

Admissions and settlements go in calls of their own, on connections of their own, each sent at
once when none of its kind is on its way: a request waits for its own admission only, never for
the settlement of the one before it, also when requests with limits and without them come in
turn. Those that come while a call of their kind is on its way go together in the next one, run
there one after the other: under load a request shares its round trips.

The script composes the rate buckets' and the budget windows' Lua functions (`redis_rate_lua`,
`redis_budget_lua`), the rate buckets' keys and arguments first and the budget's after them.
Seeding, spend and the janitor are the budget ledger's (`RedisBudgetLedger`), on the same keys.
One Redis, not a cluster.
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
from domains.billing.rate_limit import RateDecision, buckets, decide, refund_buckets
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

# Settlements, then admissions, one after the other, in one call. ARGV[1]: how many settlements;
# then per settlement r, w, per token bucket its capacity and the parts given back, then (w > 0)
# the finish's arguments (budget_finish). Then how many admissions; then per admission r, w, per
# bucket its capacity and cost in parts, then (w > 0) the reservation's (budget_check). KEYS, in
# the same order: per settlement r token buckets, then w windows, the record and the pending set
# (none if w is 0); per admission r rate buckets, then w budget windows, the record and the
# pending set (none when w is 0).
# Answers {settlements, admissions}: per settlement budget_finish's answer ({1} without a
# reservation; the tokens go back only with the reservation's first settlement); per admission
# rate_answer's figures, then (unless the rates refused, or w is 0) the budget's answer. Each
# sees what those before it did, as separate calls would; every bucket and window touched is
# written once, at the end (rate_flush, budget_flush).
_SETTLE_THEN_ADMIT = """
local settled, k, a = {}, 0, 1
for s = 1, tonumber(ARGV[1]) do
  local r, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 2
  local after = {1}
  if w > 0 then after = budget_finish(k + r, w, a + 2 * r) end
  if after[1] == 1 then rate_refund(k, r, a) end
  settled[s] = after
  k, a = k + r + (w > 0 and w + 2 or 0), a + 2 * r + (w > 0 and 6 + w or 0)
end
local admitted = {}
a = a + 1
for s = 1, tonumber(ARGV[a]) do
  local r, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ok, used, at = rate_check(k, r, a + 2)
  local answer = rate_answer(ok, used)
  if ok and w == 0 then rate_take(k, r, a + 2, used, at) end
  if ok and w > 0 then
    local outcome, found = budget_check(k + r, w, a + 2 + 2 * r)
    if not outcome then
      rate_take(k, r, a + 2, used, at)
      outcome = budget_hold(k + r, w, a + 2 + 2 * r, found)
    end
    for i = 1, #outcome do answer[#answer + 1] = outcome[i] end
  end
  admitted[s] = answer
  k, a = k + r + (w > 0 and w + 2 or 0), a + 2 + 2 * r + (w > 0 and 7 + 3 * w or 0)
end
rate_flush()
budget_flush()
return {settled, admitted}
"""

# At well under 100 µs of Redis time each, a batch holds other clients up for about a
# millisecond at most.
_MOST_AT_ONCE = 16


class RedisLimitStore:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._ns, self._clock = namespace, clock
        self._redis = redis
        self.ledger = RedisBudgetLedger(redis, namespace, clock=clock)
        self._script = redis.register_script(RATE_LUA + BUDGET_LUA + _SETTLE_THEN_ADMIT)
        self._admissions = CallBatches(self._admit_all, most=_MOST_AT_ONCE)
        self._settlements = CallBatches(self._settle_all, most=_MOST_AT_ONCE)

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
        requests: int = 1,
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        chosen = buckets(rates, tokens, requests)
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
        *,
        refund_requests: int = 0,
    ) -> list[Amount]:
        chosen = refund_buckets(rates, refund_tokens, refund_requests)
        windows = list(reservation.keys) if reservation is not None else []
        if not chosen and not windows:
            return []
        keys, args = refund_layout(self._ns, chosen)
        if reservation is not None and windows:
            budget_keys, budget_args = finish_layout(
                self._ns, reservation.id, windows, actual, "settle", 0.0
            )
            keys += budget_keys
            args += budget_args
        answer = await self._settlements.call((keys, [len(chosen), len(windows), *args]))
        return read_finish(answer)[1]

    async def _admit_all(self, admissions: list[Layout]) -> list[list[object]]:
        """Each admission's answer, from one call of the script."""
        return list((await self._call([], admissions))[1])

    async def _settle_all(self, settlements: list[Layout]) -> list[list[object]]:
        """Each settlement's answer, from one call of the script."""
        return list((await self._call(settlements, []))[0])

    async def _call(self, settlements: list[Layout], admissions: list[Layout]) -> Any:
        """The script's {settled, admitted} for the settlements, then the admissions."""
        keys = [key for layout_keys, _ in [*settlements, *admissions] for key in layout_keys]
        args: list[str | int] = [len(settlements)]
        for _, layout_args in settlements:
            args += layout_args
        args.append(len(admissions))
        for _, layout_args in admissions:
            args += layout_args
        return await self._run(self._script, keys, args)

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
