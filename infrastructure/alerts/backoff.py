"""When a delivery that failed is tried again: exponential backoff, capped."""

from __future__ import annotations


def retry_delay(attempt: int, *, base: float, most: float) -> float:
    """Seconds to wait after try number `attempt` (1 for the first) failed: `base`, then twice
    as long each time, never more than `most`."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return float(min(most, base * 2.0 ** min(attempt - 1, 60)))


def retryable(status: int | None) -> bool:
    """Whether an answer (None: no answer, the connection failed or timed out) is worth another
    try: no answer, 429 and 5xx are; any other status will not change."""
    return status is None or status == 429 or status >= 500
