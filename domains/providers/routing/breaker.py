"""A deployment's circuit breaker: closed (calls go through) → open (none do, for a cooldown)
→ half-open (one probe call) → closed on its success, open again on its failure.

It opens after `consecutive_failures` failures in a row, or once at least `min_requests` calls
in the last `window` seconds failed at `error_rate` or more. Time is given (seconds of a
monotonic clock), never read: the state machine is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BUCKETS = 10


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    consecutive_failures: int = 5
    error_rate: float = 0.5
    min_requests: int = 20
    window: float = 60.0
    cooldown: float = 30.0
    enabled: bool = True


class CircuitBreaker:
    __slots__ = (
        "_calls",
        "_failures",
        "_ids",
        "_probe_since",
        "_span",
        "closed_here",
        "consecutive",
        "open_until",
        "opened",
        "opened_here",
        "opened_why",
        "policy",
        "state",
    )

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.state = CircuitState.CLOSED
        self.consecutive = 0
        self.open_until = 0.0
        self.opened = 0  # times it opened
        self.opened_here = 0  # times this replica's calls opened it (not another replica's)
        self.closed_here = 0  # times a probe of this replica closed it
        self.opened_why: tuple[str, int, int, int] = ("", 0, 0, 0)
        """The last opening here: its reason, the failures in a row, the window's calls and
        failures."""
        self._probe_since: float | None = None
        self._span = policy.window / BUCKETS
        self._ids = [-1] * BUCKETS
        self._calls = [0] * BUCKETS
        self._failures = [0] * BUCKETS

    def current(self, now: float) -> CircuitState:
        """The state at `now`: an open circuit whose cooldown passed is half-open."""
        if self.state is CircuitState.OPEN and now >= self.open_until:
            self.state = CircuitState.HALF_OPEN
            self._probe_since = None
        return self.state

    def allows(self, now: float) -> bool:
        """Whether a call may go now (a half-open circuit: while no probe is out, or the probe
        has been out longer than a cooldown, as if it was lost)."""
        state = self.current(now)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        since = self._probe_since
        return since is None or now - since >= self.policy.cooldown

    def started(self, now: float) -> None:
        """A call goes: on a half-open circuit it is the probe."""
        if self.state is CircuitState.HALF_OPEN:
            self._probe_since = now

    def succeeded(self, now: float) -> None:
        self.consecutive = 0
        self._count(now, False)
        if self.state is not CircuitState.CLOSED:
            self.state = CircuitState.CLOSED
            self.closed_here += 1
            self._probe_since = None
            self._reset_window()

    def failed(self, now: float) -> None:
        self.consecutive += 1
        self._count(now, True)
        policy = self.policy
        if not policy.enabled:
            return
        state = self.current(now)
        if state is CircuitState.HALF_OPEN or (
            state is CircuitState.CLOSED
            and (self.consecutive >= policy.consecutive_failures or self._rate_exceeded(now))
        ):
            self._open(now)

    def open_until_at_least(self, until: float) -> None:
        """Another replica opened it (shared state): open here too until then."""
        if until > self.open_until or self.state is not CircuitState.OPEN:
            if self.state is not CircuitState.OPEN:
                self.opened += 1
            self.state = CircuitState.OPEN
            self.open_until = max(until, self.open_until)
            self._probe_since = None

    def error_rate(self, now: float) -> tuple[int, int]:
        """(calls, failures) in the window."""
        oldest = int(now / self._span) - BUCKETS + 1
        calls = failures = 0
        for i in range(BUCKETS):
            if self._ids[i] >= oldest:
                calls += self._calls[i]
                failures += self._failures[i]
        return calls, failures

    def _open(self, now: float) -> None:
        calls, failures = self.error_rate(now)
        if self.state is CircuitState.HALF_OPEN:
            reason = "probe_failed"
        elif self.consecutive >= self.policy.consecutive_failures:
            reason = "consecutive_failures"
        else:
            reason = "error_rate"
        self.opened_why = (reason, self.consecutive, calls, failures)
        self.opened_here += 1
        self.state = CircuitState.OPEN
        self.open_until = now + self.policy.cooldown
        self._probe_since = None
        self.opened += 1

    def _rate_exceeded(self, now: float) -> bool:
        calls, failures = self.error_rate(now)
        policy = self.policy
        return calls >= policy.min_requests and failures >= policy.error_rate * calls

    def _count(self, now: float, failed: bool) -> None:
        bucket = int(now / self._span)
        i = bucket % BUCKETS
        if self._ids[i] != bucket:
            self._ids[i] = bucket
            self._calls[i] = 0
            self._failures[i] = 0
        self._calls[i] += 1
        if failed:
            self._failures[i] += 1

    def _reset_window(self) -> None:
        self._ids = [-1] * BUCKETS
        self._calls = [0] * BUCKETS
        self._failures = [0] * BUCKETS
