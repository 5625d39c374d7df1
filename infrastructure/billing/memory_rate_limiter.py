"""Rate limits for the single-node embedded shape: the Redis limiter's buckets, in process memory.

An acquire reads, decides and writes every bucket without awaiting, so on one event loop it is
one step; `check` and `take` are its two halves, for the in-memory limit store, which checks the
budgets in between. Buckets that have filled up again are forgotten now and then, as
Redis expires them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domains.billing.limits import RateLimit
from domains.billing.rate_limit import (
    FULL_REFILL_MS,
    Bucket,
    RateDecision,
    buckets,
    decide,
    drained,
    refund_buckets,
    refunded,
)

_SWEEP_EVERY = 1024


@dataclass(frozen=True, slots=True)
class Acquisition:
    """An acquire checked but not taken: its decision, and each bucket's (key, used parts, as of
    ms) once taken."""

    decision: RateDecision
    after: tuple[tuple[str, int, int], ...]


class InMemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[int, int]] = {}  # bucket key → (used parts, as of ms)
        self._writes, self._sweep_at = 0, _SWEEP_EVERY

    def check(self, limits: Sequence[RateLimit], tokens: int, requests: int = 1) -> Acquisition:
        """What an acquire (of `requests` requests) would decide, taking nothing yet."""
        chosen = buckets(limits, tokens, requests)
        now = self._now_ms()
        current = [self._used(bucket, now) for bucket in chosen]
        decision = decide(chosen, [used for used, _ in current])
        after = tuple(
            (bucket.key, used + bucket.cost_parts, at)
            for bucket, (used, at) in zip(chosen, current, strict=True)
        )
        return Acquisition(decision, after)

    def take(self, acquisition: Acquisition) -> None:
        """Takes what an allowed `check` found, with no await since."""
        if not acquisition.decision.allowed:
            raise ValueError("a refused acquire takes nothing")
        for key, used, at in acquisition.after:
            self._store(key, used, at)

    def give_back(self, limits: Sequence[RateLimit], tokens: int, requests: int = 0) -> None:
        """The refund (of `tokens`, and of `requests` an allowance did not use), as one step."""
        now = self._now_ms()
        for bucket in refund_buckets(limits, tokens, requests):
            used, at = self._used(bucket, now)
            self._store(bucket.key, refunded(used, bucket), at)

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)

    def _used(self, bucket: Bucket, now: int) -> tuple[int, int]:
        used, at = self._state.get(bucket.key, (0, now))
        return drained(used, at, now, bucket.capacity)

    def _store(self, key: str, used: int, at: int) -> None:
        if used > 0:
            self._state[key] = (used, at)
        else:
            self._state.pop(key, None)
        self._writes += 1
        if self._writes >= self._sweep_at:
            self._sweep(at)

    def _sweep(self, now: int) -> None:
        """Forgets the buckets that are full by now: any bucket, whatever its capacity, is full
        a minute after it was last written."""
        self._writes = 0
        self._state = {
            key: (used, at) for key, (used, at) in self._state.items() if now - at < FULL_REFILL_MS
        }
