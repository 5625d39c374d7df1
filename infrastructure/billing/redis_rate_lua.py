"""The rate-limit half of the Redis limit scripts: Lua functions that check, take from and refill
token buckets, and the Python that lays out their keys and arguments and reads their answers.

Each function finds its buckets at KEYS[k + 1 .. k + n] and, from ARGV[a + 1] on, each bucket's
capacity and then its cost (or the parts given back) in parts, so one script can run it beside
other work: `RedisRateLimiter`'s scripts call it with k = a = 0, `RedisLimitStore`'s before the
budget functions.

A bucket `{ns}:rate:{scope}:{id}:requests|tokens` is a hash of what it lacks from full (`used`,
in parts) and as of when (`at`, in ms); it expires once full again, so a missing bucket is a
full one. The time is Redis's own (`TIME`), so replicas with skewed clocks agree. The functions
mirror `domains.billing.rate_limit`'s arithmetic; the domain then reads the figures the script
saw into a decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from domains.billing.rate_limit import PARTS, Bucket, RateDecision, decide
from infrastructure.billing.redis_budget_lua import Layout, text

# Every figure stored stays an integer below 2**53, which Lua's doubles hold exactly; '%.0f' writes
# them back without an exponent.
RATE_LUA = f"""
local P = {PARTS}
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function fmt(x) return string.format('%.0f', x) end
local function drained(key, cap)
  local h = redis.call('HMGET', key, 'used', 'at')
  local used, at = tonumber(h[1]) or 0, tonumber(h[2]) or now
  local elapsed = math.min(math.max(now - at, 0), P)
  return math.min(math.max(used - cap * elapsed, 0), cap * P), math.max(at, now)
end
local function store(key, used, at, cap)
  if used <= 0 then redis.call('DEL', key) return end
  local ms = math.floor(used / cap)
  if ms * cap < used then ms = ms + 1 end
  redis.call('HSET', key, 'used', fmt(used), 'at', fmt(at))
  redis.call('PEXPIRE', key, fmt(ms + math.max(at - now, 0)))
end
"""
RATE_LUA += """
-- Whether every bucket can take its cost, then what each lacks now and as of when.
local function rate_check(k, n, a)
  local used, at, ok = {}, {}, true
  for i = 1, n do
    local cap, cost = tonumber(ARGV[a + 2 * i - 1]), tonumber(ARGV[a + 2 * i])
    used[i], at[i] = drained(KEYS[k + i], cap)
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

-- {1 | 0 (whether every bucket could take its cost), then what each lacked}.
local function rate_answer(ok, used)
  local answer = {ok and 1 or 0}
  for i = 1, #used do answer[i + 1] = fmt(used[i]) end
  return answer
end

-- Gives each bucket its parts back; never above full.
local function rate_refund(k, n, a)
  for i = 1, n do
    local cap = tonumber(ARGV[a + 2 * i - 1])
    local used, at = drained(KEYS[k + i], cap)
    store(KEYS[k + i], math.max(used - tonumber(ARGV[a + 2 * i]), 0), at, cap)
  end
end
"""


def bucket_keys(namespace: str, chosen: Sequence[Bucket]) -> list[str]:
    return [f"{namespace}:rate:{bucket.key}" for bucket in chosen]


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


def refund_layout(namespace: str, chosen: Sequence[Bucket], tokens: int) -> Layout:
    """The keys and arguments of `rate_refund` giving `tokens` back to each token bucket."""
    args: list[str | int] = []
    for bucket in chosen:
        args += [bucket.capacity, min(tokens, bucket.capacity) * PARTS]
    return bucket_keys(namespace, chosen), args
