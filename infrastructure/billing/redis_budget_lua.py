"""The budget half of the Redis limit scripts: Lua functions that reserve against budget windows
and settle reservations, and the Python that lays out their keys and arguments and reads their
answers.

Each function finds its windows at KEYS[k + 1 .. k + n], the reservation's record and the
pending set right after them, and its arguments from ARGV[a + 1] on, so one script can run it
beside other work: `RedisBudgetLedger`'s scripts call it with k = a = 0, `RedisLimitStore`'s
after the rate buckets' keys and arguments.

Window hashes `{ns}:budget:{key}` hold decimal strings, which the functions add exactly in chunks
a double holds (Lua's doubles alone lose picodollars past $9,007); reservations
`{ns}:reservation:{id}` (held | expired | settled) sit in `{ns}:reservations` scored by expiry
for the janitor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from domains.billing.budget import (
    FINISHED_RETENTION_SECONDS,
    Amount,
    Budget,
    Refusal,
    Reservation,
    Unseeded,
    retention_seconds,
)

CMP_LUA = """
local function cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end return a == b and 0 or (a < b and -1 or 1)
end
"""

BUDGET_LUA = (
    CMP_LUA
    + """
-- Decimal strings are added in chunks of 14 digits, which a double holds exactly with a carry;
-- figures below 10^15 (and their sum) fit one double outright, the common case.
local W, BASE = 14, 10 ^ 14
local function chunk(s, i) -- the number the up to W digits of s ending at i make
  if i < 1 then return 0 end
  return tonumber(string.sub(s, math.max(i - W + 1, 1), i))
end
local function join(chunks) -- lowest first, into a decimal string without leading zeros
  local parts = {}
  for c = #chunks, 1, -1 do parts[#parts + 1] = string.format('%014.0f', chunks[c]) end
  local s = string.gsub(table.concat(parts), '^0+', '')
  return s == '' and '0' or s
end
local function add(a, b)
  if #a < 16 and #b < 16 then return string.format('%.0f', tonumber(a) + tonumber(b)) end
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 do
    local s = chunk(a, i) + chunk(b, j) + carry
    carry = s >= BASE and 1 or 0
    out[#out + 1], i, j = s - carry * BASE, i - W, j - W
  end
  if carry > 0 then out[#out + 1] = carry end
  return join(out)
end
local function sub(a, b) -- max(a - b, 0)
  if cmp(a, b) <= 0 then return '0' end
  if #a < 16 then return string.format('%.0f', tonumber(a) - tonumber(b)) end
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local s = chunk(a, i) - chunk(b, j) - borrow
    borrow = s < 0 and 1 or 0
    out[#out + 1], i, j = s + borrow * BASE, i - W, j - W
  end
  return join(out)
end
local function keep(key, seconds) if seconds > 0 then redis.call('EXPIRE', key, seconds) end end
local function counters(key)
  local h = redis.call('HMGET', key, 'spent_pusd', 'reserved_pusd', 'spent_tok', 'reserved_tok')
  return h[1] or '0', h[2] or '0', h[3] or '0', h[4] or '0'
end

-- A reservation's ARGV from a + 1: id, pusd, tok, expires_at, record ttl ms, keys json, require
-- seed ('1' | '0'), then per window: max pusd, max tok ('': no limit), seconds to keep (0: for
-- ever). budget_check answers nil and what each window has reserved when every window can take
-- the amount, else {'unseeded', i...} or {'refused', i, 'usd' | 'tokens', pusd left, tok left}.
local function budget_check(k, n, a)
  local pusd, tok, seen, unseeded, held = ARGV[a + 2], ARGV[a + 3], {}, {}, {}
  for i = 1, n do
    seen[i] = redis.call('HMGET', KEYS[k + i], 'spent_pusd', 'reserved_pusd', 'spent_tok',
      'reserved_tok', 'seeded')
    if not seen[i][5] then unseeded[#unseeded + 1] = tostring(i) end
  end
  if ARGV[a + 7] == '1' and #unseeded > 0 then return {'unseeded', unpack(unseeded)} end
  for i = 1, n do
    local h = seen[i]
    local sp, rp, st, rt = h[1] or '0', h[2] or '0', h[3] or '0', h[4] or '0'
    local max_p, max_t = ARGV[a + 3 * i + 5], ARGV[a + 3 * i + 6]
    local used_p, used_t = add(sp, rp), add(st, rt)
    local over_p = max_p ~= '' and cmp(add(used_p, pusd), max_p) > 0
    if over_p or (max_t ~= '' and cmp(add(used_t, tok), max_t) > 0) then
      local left_p = max_p == '' and '0' or sub(max_p, used_p)
      local left_t = max_t == '' and '0' or sub(max_t, used_t)
      return {'refused', tostring(i), over_p and 'usd' or 'tokens', left_p, left_t}
    end
    held[i] = {rp, rt}
  end
  return nil, held
end

-- Holds the amount on every window budget_check found able to take it, and records the
-- reservation; {'held'}.
local function budget_hold(k, n, a, held)
  local pusd, tok, record, pending = ARGV[a + 2], ARGV[a + 3], KEYS[k + n + 1], KEYS[k + n + 2]
  for i = 1, n do
    redis.call('HSET', KEYS[k + i], 'reserved_pusd', add(held[i][1], pusd),
      'reserved_tok', add(held[i][2], tok))
    keep(KEYS[k + i], tonumber(ARGV[a + 3 * i + 7]))
  end
  redis.call('HSET', record, 'state', 'held', 'pusd', pusd, 'tok', tok, 'keys', ARGV[a + 6],
    'expires_at', ARGV[a + 4])
  redis.call('PEXPIRE', record, ARGV[a + 5])
  redis.call('ZADD', pending, ARGV[a + 4], ARGV[a + 1])
  return {'held'}
end

-- A finish's ARGV from a + 1: id, actual pusd, actual tok, settle | expire, now, seconds to keep
-- the settled record, then per window seconds to keep. Settling frees a held reservation and
-- charges (an expired or unknown one is only charged); expiring frees a held one past due.
-- {1, then each window's spend after}: done, {2}: nothing to do, {0}: not due.
local function budget_finish(k, n, a)
  local record, pending = KEYS[k + n + 1], KEYS[k + n + 2]
  local rec = redis.call('HMGET', record, 'state', 'pusd', 'tok', 'expires_at')
  local expiring = ARGV[a + 4] == 'expire'
  if expiring and rec[1] == 'held' and tonumber(rec[4]) > tonumber(ARGV[a + 5]) then
    return {0}
  end
  redis.call('ZREM', pending, ARGV[a + 1])
  if rec[1] == 'settled' or (expiring and rec[1] ~= 'held') then return {2} end
  local after = {1}
  for i = 1, n do
    local sp, rp, st, rt = counters(KEYS[k + i])
    if rec[1] == 'held' then rp, rt = sub(rp, rec[2]), sub(rt, rec[3]) end
    sp, st = add(sp, ARGV[a + 2]), add(st, ARGV[a + 3])
    redis.call('HSET', KEYS[k + i], 'spent_pusd', sp, 'reserved_pusd', rp, 'spent_tok', st,
      'reserved_tok', rt)
    keep(KEYS[k + i], tonumber(ARGV[a + 6 + i]))
    after[#after + 1], after[#after + 2] = sp, st
  end
  if expiring then redis.call('HSET', record, 'state', 'expired') return after end
  redis.call('HSET', record, 'state', 'settled')
  redis.call('EXPIRE', record, ARGV[a + 6])
  return after
end
"""
)

Layout = tuple[list[str], list[str | int]]


def window_key(namespace: str, key: str) -> str:
    return f"{namespace}:budget:{key}"


def pending_key(namespace: str) -> str:
    return f"{namespace}:reservations"


def reserve_layout(
    namespace: str,
    windows: dict[str, Budget],
    held: Reservation,
    ttl: float,
    require_seed: bool,
) -> Layout:
    """The keys and arguments of `budget_check` and `budget_hold` for `held` (not yet held)."""
    amount = held.amount
    args: list[str | int] = [held.id, amount.picousd, amount.tokens, repr(held.expires_at)]
    args += [int((ttl + FINISHED_RETENTION_SECONDS) * 1000), json.dumps(list(windows))]
    args.append("1" if require_seed else "0")
    for key, budget in windows.items():
        limits = (budget.max_picousd, budget.max_tokens)
        args += [*("" if limit is None else limit for limit in limits), keep_seconds(key)]
    keys = [window_key(namespace, key) for key in windows]
    keys += [f"{namespace}:reservation:{held.id}", pending_key(namespace)]
    return keys, args


def read_reserve(answer: Sequence[object], held: Reservation) -> Reservation | Refusal | Unseeded:
    """The outcome of a reservation from what `budget_check` or `budget_hold` answered."""
    parts = [text(part) for part in answer]
    if parts[0] == "held":
        return held
    if parts[0] == "unseeded":
        return Unseeded(tuple(held.keys[int(i) - 1] for i in parts[1:]))
    key = held.keys[int(parts[1]) - 1]
    left = Amount(int(parts[3]), int(parts[4]))
    return Refusal(key, "usd", left) if parts[2] == "usd" else Refusal(key, "tokens", left)


def finish_layout(
    namespace: str, rid: str, windows: Sequence[str], actual: Amount, mode: str, now: float
) -> Layout:
    """The keys and arguments of `budget_finish` for reservation `rid` held on `windows`."""
    keys = [window_key(namespace, key) for key in windows]
    keys += [f"{namespace}:reservation:{rid}", pending_key(namespace)]
    args: list[str | int] = [rid, actual.picousd, actual.tokens, mode, repr(now)]
    args += [FINISHED_RETENTION_SECONDS, *map(keep_seconds, windows)]
    return keys, args


def read_finish(answer: Sequence[object]) -> tuple[int, list[Amount]]:
    """What `budget_finish` did (1 done, 2 nothing to do, 0 not due) and, when it charged, each
    window's spend after."""
    figures = [int(text(part)) for part in answer[1:]]
    spends = [Amount(p, t) for p, t in zip(figures[::2], figures[1::2], strict=True)]
    return int(text(answer[0])), spends


def keep_seconds(key: str) -> int:
    """How long a window's hash lives after a write; 0 for ever."""
    return retention_seconds(key) or 0


def text(value: object) -> str:
    return "" if value is None else value.decode() if isinstance(value, bytes) else str(value)
