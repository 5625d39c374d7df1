"""A request's rate limits and budgets in Redis, shared by every replica: one Lua script
(EVALSHA) checks an admission's every rate bucket and every budget window and only then takes
from all of them, and settles a finished request's reservation and refunds its unused tokens.
A settlement waits for the next admission and goes in the same call, before it (or on its own,
`SETTLE_LINGER` later): a request costs one round trip, not two. Admissions that come while a
call is on its way go together in the next one, run there one after the other: under load a
request shares its round trip.

The scripts compose the same Lua functions as `RedisRateLimiter`'s and `RedisBudgetLedger`'s
(`redis_rate_lua`, `redis_budget_lua`), the rate buckets' keys and arguments first and the
budget's after them, so the three agree on every key they share. Seeding, spend and the janitor
are the ledger's. One Redis, not a cluster.
"""

from __future__ import annotations

import asyncio
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
# sees what those before it did, as separate calls would.
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
    local outcome, held = budget_check(k + r, w, a + 2 + 2 * r)
    if not outcome then
      rate_take(k, r, a + 2, used, at)
      outcome = budget_hold(k + r, w, a + 2 + 2 * r, held)
    end
    for i = 1, #outcome do answer[#answer + 1] = outcome[i] end
  end
  admitted[s] = answer
  k, a = k + r + (w > 0 and w + 2 or 0), a + 2 + 2 * r + (w > 0 and 7 + 3 * w or 0)
end
return {settled, admitted}
"""

# At ~40 µs of Redis time each, a batch holds other clients up for under a millisecond.
_MOST_AT_ONCE = 16
# How long a settlement waits for an admission to ride along with before it goes alone. At one
# client the next request comes well within it; a reservation is held that much longer.
SETTLE_LINGER = 0.002


class RedisLimitStore:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._ns, self._clock = namespace, clock
        self._redis = redis
        self.ledger = RedisBudgetLedger(redis, namespace, clock=clock)
        self._script = redis.register_script(RATE_LUA + BUDGET_LUA + _SETTLE_THEN_ADMIT)
        self._calls = CallBatches(self._run_all, most=_MOST_AT_ONCE)
        self._settlements: list[tuple[Layout, asyncio.Future[list[Amount]]]] = []
        self._alone: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Future[Any]] = set()

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
        answer = await self._calls.call((keys, [len(chosen), len(windows), *args]))
        assert answer is not None
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
        settled: asyncio.Future[list[Amount]] = asyncio.get_running_loop().create_future()
        self._settlements.append(((keys, [len(chosen), len(windows), *args]), settled))
        self._go_alone_soon()
        return await settled

    def _go_alone_soon(self) -> None:
        """Settlements waiting go with the next admission, or on their own after the linger."""
        if self._alone is None and self._settlements:
            self._alone = asyncio.get_running_loop().call_later(SETTLE_LINGER, self._go_alone)

    def _go_alone(self) -> None:
        self._alone = None
        if self._settlements:
            sending = asyncio.ensure_future(self._calls.call(None))
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)

    async def _run_all(self, admissions: list[Layout | None]) -> list[list[object] | None]:
        """The settlements waiting, then `admissions` (None: a call for the settlements alone),
        in one call of the script; each admission's answer. A call cut off before its answer
        puts its settlements back (settling twice changes nothing); one that failed fails them.
        """
        settlements = self._settlements[:_MOST_AT_ONCE]
        del self._settlements[:_MOST_AT_ONCE]
        layouts = [layout for layout, _ in settlements]
        asked = [layout for layout in admissions if layout is not None]
        if not layouts and not asked:
            return [None] * len(admissions)  # an earlier call took the settlements along
        keys = [key for layout_keys, _ in [*layouts, *asked] for key in layout_keys]
        args: list[str | int] = [len(layouts)]
        for _, layout_args in layouts:
            args += layout_args
        args.append(len(asked))
        for _, layout_args in asked:
            args += layout_args
        try:
            settled, admitted = await self._run(self._script, keys, args)
        except Exception as error:
            for _, waiting in settlements:
                if not waiting.done():
                    waiting.set_exception(error)
            raise
        except BaseException:
            self._settlements[:0] = settlements
            raise
        finally:
            self._go_alone_soon()
        for (_, waiting), answer in zip(settlements, settled, strict=True):
            if not waiting.done():
                waiting.set_result(read_finish(answer)[1])
        answers = iter(admitted)
        return [next(answers) if layout is not None else None for layout in admissions]

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
