"""When a failed call is tried again, and how long to wait first.

A call is retried (on another deployment when there is one) after a connection error, a timeout,
429, 5xx and 529; after a refusal of the deployment's own credentials or model only on another
deployment; never after a request a retry cannot fix (400, 413), and a context-length refusal
goes only to the configured larger-window fallbacks. The wait is exponential with jitter, and at
least the upstream's `Retry-After` when the retry goes to the same deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from domains.providers.upstream_failures import Condition


class Retry(Enum):
    ANYWHERE = "anywhere"
    """Any deployment, the same one too (after a wait)."""
    ELSEWHERE = "elsewhere"
    """Another deployment or model only: this one's key or model is refused."""
    CONTEXT = "context"
    """A larger-window fallback only."""
    NEVER = "never"


RETRY: dict[Condition, Retry] = {
    Condition.RATE_LIMITED: Retry.ANYWHERE,
    Condition.OVERLOADED: Retry.ANYWHERE,
    Condition.SERVER_ERROR: Retry.ANYWHERE,
    Condition.TIMEOUT: Retry.ANYWHERE,
    Condition.UNREACHABLE: Retry.ANYWHERE,
    Condition.BAD_RESPONSE: Retry.ANYWHERE,
    Condition.CREDENTIALS_REFUSED: Retry.ELSEWHERE,
    Condition.MODEL_NOT_FOUND: Retry.ELSEWHERE,
    Condition.CONTEXT_LENGTH_EXCEEDED: Retry.CONTEXT,
    Condition.INVALID_REQUEST: Retry.NEVER,
    Condition.REQUEST_TOO_LARGE: Retry.NEVER,
}


def counts_against_circuit(condition: Condition) -> bool:
    """Whether the failure says something about the deployment (not about the request)."""
    return RETRY.get(condition, Retry.NEVER) in (Retry.ANYWHERE, Retry.ELSEWHERE)


def backoff(
    retry: int,
    base: float,
    most: float,
    rand: Callable[[], float],
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number `retry` (0 for the first): `base` doubled each
    retry, capped at `most`, with jitter (half to all of it); never less than `retry_after`."""
    ceiling = min(most, base * float(2 ** min(retry, 32)))
    wait: float = ceiling * (0.5 + rand() / 2)
    if retry_after is not None and retry_after > wait:
        return retry_after
    return wait


def retry_after_seconds(value: str | None) -> float | None:
    """An upstream's `Retry-After` in seconds (delta-seconds only; an HTTP date: None)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None
