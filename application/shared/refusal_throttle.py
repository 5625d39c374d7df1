"""Refused credentials, paced per client address: each address may have `burst` credentials
refused at once and `per_second` more every second (a token bucket). An address past that is
throttled: its requests whose credentials the gateway has not already accepted are answered 429
at once, with no lookup in the database and no audit row of their own (they are counted in the
address's coalesced `throttled` refusal). So a flood of random keys from one address costs a
dict update a request, however long it lasts.

Missing credentials are not counted: refusing them costs nothing. The state is this process's
(each serving process paces its own clients), bounded to `max_addresses` addresses: beyond it
the addresses whose buckets are full again are forgotten, then the oldest.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RefusalThrottle:
    def __init__(
        self,
        *,
        per_second: float,
        burst: int,
        max_addresses: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._max = max_addresses
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, as of when)
        self.throttled = 0

    @property
    def enabled(self) -> bool:
        return self._burst > 0

    def _tokens(self, address: str, now: float) -> float:
        tokens, since = self._buckets.get(address, (self._burst, now))
        return min(self._burst, tokens + (now - since) * self._rate)

    def refused(self, address: str) -> None:
        """One of this address's credentials was refused."""
        if not self.enabled:
            return
        now = self._clock()
        tokens = self._tokens(address, now)
        self._buckets.pop(address, None)  # re-inserted last: the dict's order is recency
        self._buckets[address] = (max(tokens - 1.0, 0.0), now)
        if len(self._buckets) > self._max:
            self._forget(now)

    def retry_after(self, address: str) -> int | None:
        """None while the address may still have credentials refused; else the seconds until it
        may again (at least 1)."""
        if not self.enabled or address not in self._buckets:
            return None
        tokens = self._tokens(address, self._clock())
        if tokens >= 1.0:
            return None
        self.throttled += 1
        return max(1, math.ceil((1.0 - tokens) / self._rate))

    def _forget(self, now: float) -> None:
        full = [a for a in self._buckets if self._tokens(a, now) >= self._burst]
        for address in full:
            del self._buckets[address]
        while len(self._buckets) > self._max:
            del self._buckets[next(iter(self._buckets))]
