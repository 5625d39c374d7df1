"""When the outbox relay retries an undelivered event, and when it gives up on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    """Retries after the first delivery; then the event is a dead letter."""
    base_seconds: float = 15.0
    """The first retry this long after the event was written; each next one twice as long."""
    max_seconds: float = 600.0
    """The longest wait between two retries."""

    def wait_after(self, retry: int) -> float:
        """Seconds from the `retry`-th retry to the next; after the last one, `base_seconds`
        until the event, still undelivered, becomes a dead letter."""
        if retry >= self.max_retries:
            return self.base_seconds
        return float(min(self.base_seconds * 2.0 ** min(retry, 60), self.max_seconds))
