"""The budget half of the Redis limit scripts: Lua functions that reserve against budget windows
and settle reservations, and the Python that lays out their keys and arguments and reads their
answers.

Each function finds its windows at KEYS[k + 1 .. k + n], the reservation's record and the
pending set right after them, and its arguments from ARGV[a + 1] on, so one script can run it
beside other work: `RedisBudgetLedger`'s janitor calls it with k = a = 0, `RedisLimitStore`'s
script after the rate buckets' keys and arguments.

Window hashes `{ns}:budget:{key}` hold decimal strings (spent_pusd, reserved_pusd, spent_tok,
reserved_tok, and seeded once seeded), which the functions add exactly; a window expires at
`forget_at` of its first write (set once, when the script or the seed creates it, never pushed
back by later writes). Reservations `{ns}:reservation:{id}` (state held | expired | settled,
pusd, tok, keys, expires_at) sit in `{ns}:reservations` scored by expiry for the janitor.

A script reads each window and record it touches once, and the functions change only the copies
they read: every write waits for the script's `budget_flush`, which a script that calls them
must call before it returns. A window the settlements and admissions of one call share is read
once and written once, and a call that fails on its way writes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import msgspec

from domains.billing.budget import (
    FINISHED_RETENTION_SECONDS,
    Amount,
    Budget,
    Refusal,
    Reservation,
    Unseeded,
    forget_at,
)

# Figures (picodollars, tokens) are Lua numbers below 10^15, which a double holds exactly, and the
# sum of two; from 10^15 on they are decimal strings without leading zeros, added in chunks of 14
# digits with a carry (Lua's doubles alone lose picodollars past $9,007). `num` reads a decimal
# string as a figure, `str` writes one back: with INT, '%d' (twice as fast as '%.0f') where a C
# long holds 2^53, as on 64-bit builds, else '%.0f'.
INT_LUA = """
local INT = string.format('%d', 2 ^ 53) == '9007199254740992' and '%d' or '%.0f'
"""
DECIMAL_LUA = (
    INT_LUA
    + """
local W, BASE, BIG = 14, 10 ^ 14, 10 ^ 15
local function num(s) if #s < 16 then return tonumber(s) end return s end
local function str(x) if type(x) == 'number' then return string.format(INT, x) end return x end
local function cmp(a, b) -- of two figures, or of two decimal strings of any length
  local na, nb = type(a) == 'number', type(b) == 'number'
  if na and nb then return a == b and 0 or (a < b and -1 or 1) end
  if na ~= nb then return na and -1 or 1 end
  if #a ~= #b then return #a < #b and -1 or 1 end return a == b and 0 or (a < b and -1 or 1)
end
local function chunk(s, i) -- the number the up to W digits of s ending at i make
  if i < 1 then return 0 end
  return tonumber(string.sub(s, math.max(i - W + 1, 1), i))
end
local function join(chunks) -- lowest first, into a figure
  local parts = {}
  for c = #chunks, 1, -1 do parts[#parts + 1] = string.format('%014.0f', chunks[c]) end
  local s = string.gsub(table.concat(parts), '^0+', '')
  return num(s == '' and '0' or s)
end
local function add(a, b)
  if type(a) == 'number' and type(b) == 'number' then
    local s = a + b
    if s < BIG then return s end return string.format(INT, s)
  end
  a, b = str(a), str(b)
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
  if cmp(a, b) <= 0 then return 0 end
  if type(a) == 'number' then return a - b end
  a, b = str(a), str(b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local s = chunk(a, i) - chunk(b, j) - borrow
    borrow = s < 0 and 1 or 0
    out[#out + 1], i, j = s + borrow * BASE, i - W, j - W
  end
  return join(out)
end
"""
)

BUDGET_LUA = (
    DECIMAL_LUA
    + """
-- The windows this call has read, by key: spent and reserved pusd and tok (sp, rp, st, rt),
-- seeded, new (not in Redis before), expire_at (the Unix time a new one expires at; 0: never),
-- and what changed ('reserved' | 'all'), to write at the end (budget_flush), in changed_windows'
-- order.
local windows, changed_windows = {}, {}
-- The reservation records this call has read or made, by key: {state, pusd, tok, expires_at};
-- and the writes to records and to the pending set, to make at the end too.
local records, later = {}, {}
local function window(key, expire_at)
  local w = windows[key]
  if w then return w end
  local h = redis.call('HMGET', key, 'spent_pusd', 'reserved_pusd', 'spent_tok', 'reserved_tok',
    'seeded')
  w = {sp = num(h[1] or '0'), rp = num(h[2] or '0'), st = num(h[3] or '0'),
    rt = num(h[4] or '0'), seeded = h[5], new = not (h[1] or h[2] or h[3] or h[4] or h[5]),
    expire_at = tonumber(expire_at)}
  windows[key] = w
  return w
end
local function changed(key, w, what)
  if not w.changed then changed_windows[#changed_windows + 1] = key end
  if w.changed ~= 'all' then w.changed = what end
end
local function record(key)
  local rec = records[key]
  if not rec then
    rec = redis.call('HMGET', key, 'state', 'pusd', 'tok', 'expires_at')
    records[key] = rec
  end
  return rec
end
local function write_later(...) later[#later + 1] = {...} end
-- Writes every window changed (a new one gets its expiry, once), then the records.
local function budget_flush()
  for _, key in ipairs(changed_windows) do
    local w = windows[key]
    if w.changed == 'all' then
      redis.call('HSET', key, 'spent_pusd', str(w.sp), 'reserved_pusd', str(w.rp),
        'spent_tok', str(w.st), 'reserved_tok', str(w.rt))
    else
      redis.call('HSET', key, 'reserved_pusd', str(w.rp), 'reserved_tok', str(w.rt))
    end
    if w.new and w.expire_at > 0 then redis.call('EXPIREAT', key, w.expire_at) end
  end
  for i = 1, #later do redis.call(unpack(later[i])) end
end

-- A reservation's ARGV from a + 1: id, pusd, tok, expires_at, record ttl ms, keys json, require
-- seed ('1' | '0'), then per window: max pusd, max tok ('': no limit), expire_at (a new
-- window's, Unix time; 0: never). budget_check answers nil and the windows when every window
-- can take the amount, else {'unseeded', i...} or {'refused', i, 'usd' | 'tokens', pusd left,
-- tok left}.
local function budget_check(k, n, a)
  local pusd, tok, found, unseeded = num(ARGV[a + 2]), num(ARGV[a + 3]), {}, {}
  for i = 1, n do
    found[i] = window(KEYS[k + i], ARGV[a + 3 * i + 7])
    if not found[i].seeded then unseeded[#unseeded + 1] = i end
  end
  if ARGV[a + 7] == '1' and #unseeded > 0 then return {'unseeded', unpack(unseeded)} end
  for i = 1, n do
    local w, max_p, max_t = found[i], ARGV[a + 3 * i + 5], ARGV[a + 3 * i + 6]
    local over_p = max_p ~= '' and cmp(add(add(w.sp, w.rp), pusd), num(max_p)) > 0
    if over_p or (max_t ~= '' and cmp(add(add(w.st, w.rt), tok), num(max_t)) > 0) then
      local left_p = max_p == '' and 0 or sub(num(max_p), add(w.sp, w.rp))
      local left_t = max_t == '' and 0 or sub(num(max_t), add(w.st, w.rt))
      return {'refused', i, over_p and 'usd' or 'tokens', str(left_p), str(left_t)}
    end
  end
  return nil, found
end

-- Holds the amount on the windows budget_check found able to take it, and records the
-- reservation; {'held'}.
local function budget_hold(k, n, a, found)
  local pusd, tok, key = num(ARGV[a + 2]), num(ARGV[a + 3]), KEYS[k + n + 1]
  for i = 1, n do
    local w = found[i]
    w.rp, w.rt = add(w.rp, pusd), add(w.rt, tok)
    changed(KEYS[k + i], w, 'reserved')
  end
  records[key] = {'held', ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]}
  write_later('HSET', key, 'state', 'held', 'pusd', ARGV[a + 2], 'tok', ARGV[a + 3],
    'keys', ARGV[a + 6], 'expires_at', ARGV[a + 4])
  write_later('PEXPIRE', key, ARGV[a + 5])
  write_later('ZADD', KEYS[k + n + 2], ARGV[a + 4], ARGV[a + 1])
  return {'held'}
end

-- A finish's ARGV from a + 1: id, actual pusd, actual tok, settle | expire, now, seconds to keep
-- the settled record, then per window its expire_at (as budget_check's). Settling frees a held
-- reservation and charges (an expired or unknown one is only charged); expiring frees a held
-- one past due. {1, then each window's spend after (pusd, tok)}: done, {2}: nothing to do, {0}:
-- not due.
local function budget_finish(k, n, a)
  local key, pending = KEYS[k + n + 1], KEYS[k + n + 2]
  local rec = record(key)
  local expiring, held = ARGV[a + 4] == 'expire', rec[1] == 'held'
  if expiring and held and tonumber(rec[4]) > tonumber(ARGV[a + 5]) then return {0} end
  write_later('ZREM', pending, ARGV[a + 1])
  if rec[1] == 'settled' or (expiring and not held) then return {2} end
  local pusd, tok, after = num(ARGV[a + 2]), num(ARGV[a + 3]), {1}
  local held_p, held_t = held and num(rec[2]), held and num(rec[3])
  for i = 1, n do
    local w = window(KEYS[k + i], ARGV[a + 6 + i])
    if held then w.rp, w.rt = sub(w.rp, held_p), sub(w.rt, held_t) end
    w.sp, w.st = add(w.sp, pusd), add(w.st, tok)
    changed(KEYS[k + i], w, 'all')
    after[#after + 1], after[#after + 2] = w.sp, w.st
  end
  rec[1] = expiring and 'expired' or 'settled'
  write_later('HSET', key, 'state', rec[1])
  if not expiring then write_later('EXPIRE', key, ARGV[a + 6]) end
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
    args += [
        int((ttl + FINISHED_RETENTION_SECONDS) * 1000),
        msgspec.json.encode(list(windows)).decode(),
    ]
    args.append("1" if require_seed else "0")
    created = time.time()
    for key, budget in windows.items():
        limits = (budget.max_picousd, budget.max_tokens)
        args += [*("" if limit is None else limit for limit in limits), expire_at(key, created)]
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
    created = time.time()
    args += [FINISHED_RETENTION_SECONDS, *(expire_at(key, created) for key in windows)]
    return keys, args


def read_finish(answer: Sequence[object]) -> tuple[int, list[Amount]]:
    """What `budget_finish` did (1 done, 2 nothing to do, 0 not due) and, when it charged, each
    window's spend after."""
    figures = [int(text(part)) for part in answer[1:]]
    spends = [Amount(p, t) for p, t in zip(figures[::2], figures[1::2], strict=True)]
    return int(text(answer[0])), spends


def expire_at(key: str, created: float) -> int:
    """When a window's hash created at `created` expires (`forget_at`), in whole Unix seconds for
    EXPIREAT; 0 for never. `created` is the real time (`time.time()`), Redis's clock, not a
    ledger's."""
    forget = forget_at(key, created)
    return 0 if forget is None else math.ceil(forget)


def text(value: object) -> str:
    return "" if value is None else value.decode() if isinstance(value, bytes) else str(value)
