"""Failures a fake upstream is told to have while it runs (thread-safe: the tests change them
from their own thread): a model that fails every request with a status (and `Retry-After`), a
model that fails every other request, a limit of requests a minute per API key, enforced
as a provider enforces it (a sliding minute; one more: 429 with `Retry-After`), and the whole
upstream down (every request, its model list too, fails with a status)."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

FAIL_HALF = "fake-fail-half"
"""Fails (500) every other request it gets, the first included."""


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int
    retry_after: int | None = None


class Faults:
    def __init__(self, *, rpm_per_key: int | None = None) -> None:
        self._lock = threading.Lock()
        self.rpm_per_key = rpm_per_key
        self._failing: dict[str, Verdict] = {}
        self._calls: dict[str, deque[float]] = {}
        self._seen: Counter[str] = Counter()
        self._down: int | None = None
        self.rate_limited = 0
        """Requests answered 429 because their key passed `rpm_per_key`."""
        self.by_key: Counter[str] = Counter()
        """Requests let through, by their key."""
        self.failed: Counter[tuple[str, int]] = Counter()
        """Requests answered with a failure switched on (or `FAIL_HALF`'s), by (model, status)."""

    def fail(self, model: str, status: int = 500, retry_after: int | None = None) -> None:
        with self._lock:
            self._failing[model] = Verdict(status, retry_after)

    def heal(self, model: str) -> None:
        with self._lock:
            self._failing.pop(model, None)

    def down(self, status: int = 503) -> None:
        """Every request fails with `status` (the model list too) until `up`."""
        with self._lock:
            self._down = status

    def up(self) -> None:
        with self._lock:
            self._down = None

    def outage(self) -> Verdict | None:
        """The failure every request meets while the upstream is down, else None."""
        with self._lock:
            return Verdict(self._down) if self._down is not None else None

    def verdict(self, key: str, model: object) -> Verdict | None:
        """None: answer as usual; else the failure to answer with."""
        now = time.monotonic()
        with self._lock:
            if self._down is not None:
                return Verdict(self._down)
            if self.rpm_per_key is not None:
                calls = self._calls.setdefault(key, deque())
                while calls and calls[0] <= now - 60.0:
                    calls.popleft()
                if len(calls) >= self.rpm_per_key:
                    self.rate_limited += 1
                    return Verdict(429, max(1, math.ceil(calls[0] + 60.0 - now)))
                calls.append(now)
            self.by_key[key] += 1
            if not isinstance(model, str):
                return None
            failing = self._failing.get(model)
            if failing is None and model == FAIL_HALF:
                self._seen[model] += 1
                if self._seen[model] % 2 == 1:
                    failing = Verdict(500)
            if failing is not None:
                self.failed[model, failing.status] += 1
            return failing

    def forget_failures(self) -> None:
        """Count the failures answered from now on only."""
        with self._lock:
            self.failed.clear()
