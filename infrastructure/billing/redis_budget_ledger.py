"""Budgets shared by every replica, in Redis: one Lua script (EVALSHA) per reserve, per settle.
Window hashes `{ns}:budget:{key}` hold decimal strings the scripts add digit by digit (Lua's
doubles lose picodollars past $9,007); reservations `{ns}:reservation:{id}` (held | expired |
settled) sit in `{ns}:reservations` scored by expiry for the janitor. One Redis, not a cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import redis.asyncio as aioredis

from domains.billing.budget import (
    FINISHED_RETENTION_SECONDS,
    ZERO,
    Amount,
    Budget,
    Refusal,
    Reservation,
    merged_windows,
    retention_seconds,
)
from domains.shared.ids import new_id

_COMMON = """
local function cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end return a == b and 0 or (a < b and -1 or 1)
end
local function digit(s, i) if i > 0 then return string.byte(s, i) - 48 end return 0 end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local s = carry + digit(a, i) + digit(b, j)
    out[#out + 1], carry, i, j = string.char(48 + s % 10), math.floor(s / 10), i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end
local function sub(a, b) -- max(a - b, 0)
  if cmp(a, b) <= 0 then return '0' end
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local s = digit(a, i) - digit(b, j) - borrow
    borrow = s < 0 and 1 or 0
    out[#out + 1], i, j = string.char(48 + s + 10 * borrow), i - 1, j - 1
  end
  return (string.gsub(string.reverse(table.concat(out)), '^0+', ''))
end
local function keep(key, seconds) if seconds > 0 then redis.call('EXPIRE', key, seconds) end end
local function counters(key)
  local h = redis.call('HMGET', key, 'spent_pusd', 'reserved_pusd', 'spent_tok', 'reserved_tok')
  return h[1] or '0', h[2] or '0', h[3] or '0', h[4] or '0'
end
local n = #KEYS - 2
local record, pending = KEYS[n + 1], KEYS[n + 2]
"""

# KEYS: windows, record, pending. ARGV: id, pusd, tok, expires_at, record ttl ms, keys json,
# then per window: max pusd, max tok ('': no limit), seconds to keep (0: for ever).
_RESERVE = """
local pusd, tok, held = ARGV[2], ARGV[3], {}
for i = 1, n do
  local sp, rp, st, rt = counters(KEYS[i])
  local max_p, max_t, used_p, used_t = ARGV[3 * i + 4], ARGV[3 * i + 5], add(sp, rp), add(st, rt)
  local over_p = max_p ~= '' and cmp(add(used_p, pusd), max_p) > 0
  if over_p or (max_t ~= '' and cmp(add(used_t, tok), max_t) > 0) then
    local left_p = max_p == '' and '0' or sub(max_p, used_p)
    local left_t = max_t == '' and '0' or sub(max_t, used_t)
    return {'refused', tostring(i), over_p and 'usd' or 'tokens', left_p, left_t}
  end
  held[i] = {rp, rt}
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'reserved_pusd', add(held[i][1], pusd),
    'reserved_tok', add(held[i][2], tok))
  keep(KEYS[i], tonumber(ARGV[3 * i + 6]))
end
redis.call('HSET', record, 'state', 'held', 'pusd', pusd, 'tok', tok, 'keys', ARGV[6],
  'expires_at', ARGV[4])
redis.call('PEXPIRE', record, ARGV[5])
redis.call('ZADD', pending, ARGV[4], ARGV[1])
return {'held'}
"""

# ARGV: id, actual pusd, actual tok, settle | expire, now, seconds to keep the settled record,
# per window seconds. Settling frees a held reservation and charges (an expired or unknown one
# is only charged); expiring frees a held one past due. 1: done, 2: nothing to do, 0: not due.
_FINISH = """
local rec = redis.call('HMGET', record, 'state', 'pusd', 'tok', 'expires_at')
local expiring = ARGV[4] == 'expire'
if expiring and rec[1] == 'held' and tonumber(rec[4]) > tonumber(ARGV[5]) then return 0 end
redis.call('ZREM', pending, ARGV[1])
if rec[1] == 'settled' or (expiring and rec[1] ~= 'held') then return 2 end
for i = 1, n do
  local sp, rp, st, rt = counters(KEYS[i])
  if rec[1] == 'held' then rp, rt = sub(rp, rec[2]), sub(rt, rec[3]) end
  redis.call('HSET', KEYS[i], 'spent_pusd', add(sp, ARGV[2]), 'reserved_pusd', rp,
    'spent_tok', add(st, ARGV[3]), 'reserved_tok', rt)
  keep(KEYS[i], tonumber(ARGV[6 + i]))
end
if expiring then redis.call('HSET', record, 'state', 'expired') return 1 end
redis.call('HSET', record, 'state', 'settled')
redis.call('EXPIRE', record, ARGV[6])
return 1
"""

_SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spent_pusd', ARGV[1], 'spent_tok', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""

_BATCH = 100


class RedisBudgetLedger:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis, self._ns, self._clock = redis, namespace, clock
        self._pending = f"{namespace}:reservations"
        self._reserve = redis.register_script(_COMMON + _RESERVE)
        self._finish = redis.register_script(_COMMON + _FINISH)
        self._seed = redis.register_script(_SEED)

    async def reserve(
        self, budgets: Sequence[Budget], amount: Amount, *, now: datetime, ttl: float = 600
    ) -> Reservation | Refusal:
        windows = merged_windows(budgets, now)
        held = Reservation(new_id(), tuple(windows), amount, self._clock() + ttl)
        if not windows:
            return held
        args: list[str | int] = [held.id, amount.picousd, amount.tokens, repr(held.expires_at)]
        args += [int((ttl + FINISHED_RETENTION_SECONDS) * 1000), json.dumps(list(windows))]
        for key, budget in windows.items():
            limits = [budget.max_picousd, budget.max_tokens]
            args += [*("" if limit is None else limit for limit in limits), _keep(key)]
        keys = [*map(self._window, windows), f"{self._ns}:reservation:{held.id}", self._pending]
        answer = [_text(part) for part in await self._reserve(keys=keys, args=args)]
        if answer[0] == "held":
            return held
        key = held.keys[int(answer[1]) - 1]
        left = Amount(int(answer[3]), int(answer[4]))
        return Refusal(key, "usd", left) if answer[2] == "usd" else Refusal(key, "tokens", left)

    async def settle(self, reservation: Reservation, actual: Amount) -> None:
        if reservation.keys:
            await self._finish_one(reservation.id, list(reservation.keys), actual, "settle", 0.0)

    async def release(self, reservation: Reservation) -> None:
        await self.settle(reservation, ZERO)

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        fields = ("spent_pusd", "spent_tok", "reserved_pusd", "reserved_tok")
        values = await self._redis.hmget(self._window(budget.key(now)), fields)
        sp, st, rp, rt = (int(_text(value) or 0) for value in values)
        return Amount(sp, st), Amount(rp, rt)

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        key = budget.key(now)
        await self._seed(keys=[self._window(key)], args=[spent.picousd, spent.tokens, _keep(key)])

    async def release_expired(self) -> int:
        """Releases the reservations past their expiry, each in one script; how many."""
        released = 0
        while True:
            now = self._clock()
            due = await self._redis.zrangebyscore(self._pending, "-inf", now, start=0, num=_BATCH)
            progress = False
            for rid in (_text(member) for member in due):
                listed = await self._redis.hget(f"{self._ns}:reservation:{rid}", "keys")
                windows: list[str] = json.loads(_text(listed)) if listed is not None else []
                outcome = await self._finish_one(rid, windows, ZERO, "expire", now)
                released += outcome == 1
                progress = progress or outcome != 0
            if len(due) < _BATCH or not progress:
                return released

    async def _finish_one(
        self, rid: str, windows: list[str], actual: Amount, mode: str, now: float
    ) -> int:
        keys = [*map(self._window, windows), f"{self._ns}:reservation:{rid}", self._pending]
        args: list[str | int] = [rid, actual.picousd, actual.tokens, mode, repr(now)]
        args += [FINISHED_RETENTION_SECONDS, *map(_keep, windows)]
        return int(await self._finish(keys=keys, args=args))

    def _window(self, key: str) -> str:
        return f"{self._ns}:budget:{key}"


def _keep(key: str) -> int:
    return retention_seconds(key) or 0


def _text(value: object) -> str:
    return "" if value is None else value.decode() if isinstance(value, bytes) else str(value)
