"""A deployment's own rate limits (its upstream key's `rpm` and `tpm`), over a sliding minute:
a deployment over either is skipped until the minute since its oldest counted call passed."""

from __future__ import annotations

from collections import deque

SPAN = 60.0


class RateWindow:
    __slots__ = (
        "_requests",
        "_tokens",
        "_used_tokens",
        "elsewhere_requests",
        "elsewhere_tokens",
        "rpm",
        "tpm",
    )

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._requests: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._used_tokens = 0
        self.elsewhere_requests = 0
        """Calls other replicas made in the last minute (shared state), counted too."""
        self.elsewhere_tokens = 0

    def has_room(self, now: float) -> bool:
        self._forget(now)
        rpm, tpm = self.rpm, self.tpm
        if rpm is not None and len(self._requests) + self.elsewhere_requests >= rpm:
            return False
        return tpm is None or self._used_tokens + self.elsewhere_tokens < tpm

    def take(self, now: float) -> None:
        """A call goes out now."""
        if self.rpm is not None:
            self._requests.append(now)

    def spend(self, now: float, tokens: int) -> None:
        """A call used `tokens` (prompt and output)."""
        if self.tpm is not None and tokens > 0:
            self._tokens.append((now, tokens))
            self._used_tokens += tokens

    def used(self, now: float) -> tuple[int, int]:
        """(calls, tokens) of this replica in the last minute."""
        self._forget(now)
        return len(self._requests), self._used_tokens

    def free_in(self, now: float) -> float:
        """Seconds until a call fits again (0: now)."""
        if self.has_room(now):
            return 0.0
        waits = []
        if self._requests:
            waits.append(self._requests[0] + SPAN - now)
        if self._tokens:
            waits.append(self._tokens[0][0] + SPAN - now)
        return max(0.0, min(waits)) if waits else 1.0

    def _forget(self, now: float) -> None:
        since = now - SPAN
        requests = self._requests
        while requests and requests[0] <= since:
            requests.popleft()
        tokens = self._tokens
        while tokens and tokens[0][0] <= since:
            self._used_tokens -= tokens.popleft()[1]
