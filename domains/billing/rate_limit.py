"""Requests and tokens per minute as token buckets: what an acquire takes, what it is told.

Each limited measure of a `RateLimit` is a bucket holding `capacity` (its rpm or tpm), refilled
continuously at capacity/60 per second. The arithmetic is in integers so that every limiter, in
process or in a Redis script, reaches the same answer: time is in whole milliseconds, and a
bucket is measured in parts, `PARTS` to the token (or request), so that it refills exactly
`capacity` parts a millisecond. A bucket's state is what it lacks from full (`used`, in parts)
as of a moment; a bucket never touched, or refilled since, is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from domains.billing.limits import RateLimit

Measure = Literal["requests", "tokens"]

PARTS = 60_000  # parts to a unit: a bucket of capacity C refills C parts per millisecond
FULL_REFILL_MS = PARTS  # an empty bucket is full again a minute later
# Capacities are clamped here so that every figure a script handles stays below 2**53, where a
# Lua double is still an exact integer; 150 billion a minute is as good as no limit.
MAX_CAPACITY = 2**53 // PARTS


@dataclass(frozen=True, slots=True)
class RateWindow:
    """One measure as headers show it: the limit, what is left, and the seconds until full."""

    limit: int
    remaining: int
    reset_seconds: float


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether a request may go, and the windows to show for it.

    Refused: `refused_by` names the limit ("key:<id>") and `measure` the bucket that refused,
    `retry_after` is the seconds until that bucket could take the request, or None when waiting
    cannot help: `too_large` when the tokens asked exceed the tpm outright, or a limit of 0.
    `requests` and `tokens` are the windows of the tightest limit on each measure (least left
    after the request, or now when refused); None when no limit applies to that measure."""

    allowed: bool
    retry_after: float | None
    refused_by: str | None
    measure: Measure | None
    requests: RateWindow | None
    tokens: RateWindow | None
    too_large: bool = False


@dataclass(frozen=True, slots=True)
class Bucket:
    """One measure of one limit, and what an acquire takes from it."""

    key: str  # "key:<id>:requests", "team:<id>:tokens"
    limit_name: str
    measure: Measure
    capacity: int
    cost: int

    @property
    def capacity_parts(self) -> int:
        return self.capacity * PARTS

    @property
    def cost_parts(self) -> int:
        return self.cost * PARTS


def buckets(limits: Sequence[RateLimit], tokens: int, requests: int = 1) -> list[Bucket]:
    """The buckets an acquire of `requests` requests (one, unless an allowance takes several
    at once) and `tokens` tokens takes from, in the limits' order, requests before tokens; a
    limit named twice keeps the smaller capacity."""
    if tokens < 0 or requests < 0:
        raise ValueError("an acquire cannot take a negative number of requests or tokens")
    found: dict[str, Bucket] = {}
    for limit in limits:
        measures: tuple[tuple[Measure, int | None, int], ...] = (
            ("requests", limit.rpm, requests),
            ("tokens", limit.tpm, tokens),
        )
        for measure, capacity, cost in measures:
            if capacity is None:
                continue
            key = f"{limit.name}:{measure}"
            seen = found.get(key)
            if seen is None or capacity < seen.capacity:
                found[key] = Bucket(key, limit.name, measure, min(capacity, MAX_CAPACITY), cost)
    return list(found.values())


def refund_buckets(limits: Sequence[RateLimit], tokens: int, requests: int = 0) -> list[Bucket]:
    """The buckets a refund gives back to, each one's `cost` what it gets back: `tokens` to the
    token buckets, `requests` to the request buckets (an allowance's unused requests); none
    that gets nothing."""
    if tokens < 0 or requests < 0:
        raise ValueError("a refund cannot be negative")
    return [bucket for bucket in buckets(limits, tokens, requests) if bucket.cost]


def drained(used: int, at_ms: int, now_ms: int, capacity: int) -> tuple[int, int]:
    """A bucket's (used parts, as of) at `now_ms`, from what it lacked at `at_ms`: it refills
    `capacity` parts a millisecond, and never lacks more than its capacity. A bucket emptied
    under a larger capacity (a limit lowered since) is first cut to empty at its capacity now, so
    it refills at the new rate: full again a minute later at most. A clock that went back
    refills nothing, and the state stays dated at the later moment."""
    elapsed = min(max(now_ms - at_ms, 0), FULL_REFILL_MS)
    left = max(min(used, capacity * PARTS) - capacity * elapsed, 0)
    return left, max(at_ms, now_ms)


def can_never_take(bucket: Bucket) -> bool:
    """A bucket of capacity 0 refuses everything; one smaller than the cost never fills enough."""
    return bucket.capacity == 0 or bucket.cost > bucket.capacity


def wait_ms(bucket: Bucket, used: int) -> int | None:
    """Milliseconds until the bucket, lacking `used` parts now, could take its cost: 0 when it
    can now, None when it never can."""
    if can_never_take(bucket):
        return None
    short = used + bucket.cost_parts - bucket.capacity_parts
    return 0 if short <= 0 else -(-short // bucket.capacity)


def full_in_ms(used: int, capacity: int) -> int:
    """Milliseconds until a bucket lacking `used` parts is full again (0 when it is)."""
    return 0 if used <= 0 or capacity == 0 else -(-used // capacity)


def rate_window(bucket: Bucket, used: int) -> RateWindow:
    """The window headers show for the bucket when it lacks `used` parts."""
    remaining = max(bucket.capacity_parts - used, 0) // PARTS
    return RateWindow(bucket.capacity, remaining, full_in_ms(used, bucket.capacity) / 1000)


def decide(chosen: Sequence[Bucket], used: Sequence[int]) -> RateDecision:
    """The decision for an acquire from the buckets, each lacking `used[i]` parts now.

    Allowed only when every bucket can take its cost. Refused, the bucket named is the one that
    keeps the request out longest: one that never can first, else the longest wait."""
    if len(chosen) != len(used):
        raise ValueError("one used figure per bucket")
    waits = [wait_ms(bucket, parts) for bucket, parts in zip(chosen, used, strict=True)]
    allowed = all(wait == 0 for wait in waits)
    tightest: dict[str, RateWindow] = {}
    for bucket, parts in zip(chosen, used, strict=True):
        window = rate_window(bucket, parts + bucket.cost_parts if allowed else parts)
        seen = tightest.get(bucket.measure)
        # the least left, and of those the longest to refill; the first of equals
        if seen is None or (window.remaining, -window.reset_seconds) < (
            seen.remaining,
            -seen.reset_seconds,
        ):
            tightest[bucket.measure] = window
    requests, tokens = tightest.get("requests"), tightest.get("tokens")
    if allowed:
        return RateDecision(True, None, None, None, requests, tokens)
    refusing = [i for i, wait in enumerate(waits) if wait != 0]
    worst = max(refusing, key=lambda i: (waits[i] is None, waits[i] or 0, -i))
    bucket, wait = chosen[worst], waits[worst]
    return RateDecision(
        allowed=False,
        retry_after=None if wait is None else wait / 1000,
        refused_by=bucket.limit_name,
        measure=bucket.measure,
        requests=requests,
        tokens=tokens,
        too_large=bucket.measure == "tokens" and bucket.cost > bucket.capacity,
    )


def refunded(used: int, bucket: Bucket) -> int:
    """What a bucket lacks after its `cost` is given back (`refund_buckets`): never less than
    nothing."""
    return max(used - min(bucket.cost, bucket.capacity) * PARTS, 0)
