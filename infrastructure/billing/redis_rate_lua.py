"""The rate-limit half of the Redis limit scripts: Lua functions that check, take from and refill
token buckets, and the Python that lays out their keys and arguments and reads their answers.

Each function finds its buckets at KEYS[k + 1 .. k + n] and, from ARGV[a + 1] on, each bucket's
capacity and then its cost (or the parts given back) in parts, so one script can run it beside
other work: `RedisLimitStore`'s script calls it before the budget functions.

A bucket `{ns}:bucket:{scope}:{id}:requests|tokens` is a string 'used:at': what it lacks from
full (in parts) and as of when (in ms); it expires once full again, so a missing bucket is a
full one. (Older versions kept a hash under `{ns}:rate:...`; left unread, it expires within a
minute.) The time is Redis's own (`TIME`, read once a call), so replicas with skewed clocks
agree. The functions mirror `domains.billing.rate_limit`'s arithmetic; the domain then reads the
figures the script saw into a decision.

A script reads each bucket it touches once (one MGET a function call, for those it has not read
yet), and the functions change only the copies they read: every write waits for the script's
`rate_flush`, which a script that calls them must call before it returns. A bucket the
settlements and admissions of one call share is read once and written once.
"""

from __future__ import annotations

from collections.abc import Sequence

from domains.billing.rate_limit import PARTS, Bucket, RateDecision, decide
from infrastructure.billing.redis_budget_lua import INT_LUA, Layout, text

# Every figure stored stays an integer below 2**53, which Lua's doubles hold exactly; INT ('%d' or
# '%.0f') writes them back without an exponent.
RATE_LUA = f"""
local P = {PARTS}
"""
RATE_LUA += INT_LUA
RATE_LUA += """
local PAIR = INT .. ':' .. INT
-- The buckets this call has read, by key: used, at (nil: full), whether Redis holds it (stored),
-- and the capacity it was last written with (cap); now: Redis's clock in ms, once one is read.
local buckets, changed_buckets, now = {}, {}
local function load(k, n) -- the buckets at KEYS[k + 1 .. k + n] not read yet, in one MGET
  if n == 0 then return end
  if not now then
    local clock = redis.call('TIME')
    now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  end
  local missing = {}
  for i = 1, n do
    local key = KEYS[k + i]
    if not buckets[key] then buckets[key], missing[#missing + 1] = {used = 0}, key end
  end
  if #missing == 0 then return end
  local values = redis.call('MGET', unpack(missing))
  for j = 1, #missing do
    local value = values[j]
    if value then
      local b, cut = buckets[missing[j]], string.find(value, ':', 1, true)
      b.used, b.at = tonumber(string.sub(value, 1, cut - 1)), tonumber(string.sub(value, cut + 1))
      b.stored = true
    end
  end
end
-- what bucket b lacks now, and as of when: first cut to its capacity (one lowered since), then
-- refilled at that capacity
local function drained(b, cap)
  local at = b.at or now
  local elapsed = math.min(math.max(now - at, 0), P)
  return math.max(math.min(b.used, cap * P) - cap * elapsed, 0), math.max(at, now)
end
local function store(key, used, at, cap) -- what bucket key lacks as of at, to write at the end
  local b = buckets[key]
  if used <= 0 then b.used, b.at = 0, nil else b.used, b.at = used, at end
  b.cap = cap
  if not b.changed then b.changed, changed_buckets[#changed_buckets + 1] = true, key end
end
-- Writes every bucket changed, to expire once full again; a full one is deleted.
local function rate_flush()
  for _, key in ipairs(changed_buckets) do
    local b = buckets[key]
    if b.at then
      local ms = math.floor(b.used / b.cap)
      if ms * b.cap < b.used then ms = ms + 1 end
      redis.call('SET', key, string.format(PAIR, b.used, b.at), 'PX',
        ms + math.max(b.at - now, 0))
    elseif b.stored then
      redis.call('DEL', key)
    end
  end
end

-- Whether every bucket can take its cost, then what each lacks now and as of when.
local function rate_check(k, n, a)
  load(k, n)
  local used, at, ok = {}, {}, true
  for i = 1, n do
    local cap, cost = tonumber(ARGV[a + 2 * i - 1]), tonumber(ARGV[a + 2 * i])
    used[i], at[i] = drained(buckets[KEYS[k + i]], cap)
    if cap == 0 or used[i] + cost > cap * P then ok = false end
  end
  return ok, used, at
end

-- Takes every bucket's cost, from the state rate_check found.
local function rate_take(k, n, a, used, at)
  for i = 1, n do
    local cap, cost = tonumber(ARGV[a + 2 * i - 1]), tonumber(ARGV[a + 2 * i])
    store(KEYS[k + i], used[i] + cost, at[i], cap)
  end
end

-- {1 | 0 (whether every bucket could take its cost), then what each lacked (numbers, which
-- Redis answers as integers)}.
local function rate_answer(ok, used)
  local answer = {ok and 1 or 0}
  for i = 1, #used do answer[i + 1] = used[i] end
  return answer
end

-- Gives each bucket its parts back; never above full.
local function rate_refund(k, n, a)
  load(k, n)
  for i = 1, n do
    local cap = tonumber(ARGV[a + 2 * i - 1])
    local used, at = drained(buckets[KEYS[k + i]], cap)
    store(KEYS[k + i], math.max(used - tonumber(ARGV[a + 2 * i]), 0), at, cap)
  end
end
"""


def bucket_keys(namespace: str, chosen: Sequence[Bucket]) -> list[str]:
    return [f"{namespace}:bucket:{bucket.key}" for bucket in chosen]


def acquire_layout(namespace: str, chosen: Sequence[Bucket]) -> Layout:
    """The keys and arguments of `rate_check` and `rate_take` for the buckets."""
    args: list[str | int] = []
    for bucket in chosen:
        # a cost past the capacity is refused whatever it is: keep the script's figures small
        args += [bucket.capacity, min(bucket.cost, bucket.capacity + 1) * PARTS]
    return bucket_keys(namespace, chosen), args


def read_acquire(chosen: Sequence[Bucket], answer: Sequence[object]) -> RateDecision:
    """The decision from what `rate_answer` answered, which the domain must agree with."""
    taken, used = int(text(answer[0])), [int(text(part)) for part in answer[1:]]
    decision = decide(chosen, used)
    if decision.allowed != bool(taken):
        raise RuntimeError("the rate limit script and the domain disagree")
    return decision


def refund_layout(namespace: str, chosen: Sequence[Bucket]) -> Layout:
    """The keys and arguments of `rate_refund` giving each bucket its `cost` back
    (`refund_buckets`)."""
    args: list[str | int] = []
    for bucket in chosen:
        args += [bucket.capacity, min(bucket.cost, bucket.capacity) * PARTS]
    return bucket_keys(namespace, chosen), args
