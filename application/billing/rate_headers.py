"""The rate-limit headers OpenAI sends, from a rate decision: `x-ratelimit-*` for each limited
measure on every answer, and `Retry-After` / `retry-after-ms` on a refusal worth retrying.
Resets are durations the way OpenAI writes them: "20ms", "1s", "59.6s", "6m0s", "1h0m0s"."""

from __future__ import annotations

import functools
import math

from domains.billing.rate_limit import RateDecision


def duration(seconds: float) -> str:
    """`seconds` rounded up to the millisecond, as OpenAI (and Go's durations) write it."""
    ms = _ceil_ms(seconds)
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    text = f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)
    if hours:
        return f"{hours}h{minutes}m{text}s"
    if minutes:
        return f"{minutes}m{text}s"
    return f"{text}s"


def ratelimit_headers(decision: RateDecision) -> dict[str, str]:
    headers: dict[str, str] = {}
    for names, window in ((_REQUESTS, decision.requests), (_TOKENS, decision.tokens)):
        if window is not None:
            limit, remaining, reset = names
            headers[limit] = _limit_text(window.limit)
            headers[remaining] = str(window.remaining)
            headers[reset] = _reset_text(window.reset_seconds)
    if not decision.allowed and decision.retry_after is not None:
        ms = max(_ceil_ms(decision.retry_after), 1)
        headers["Retry-After"] = str(max(math.ceil(ms / 1000), 1))
        headers["retry-after-ms"] = str(ms)
    return headers


def _names(measure: str) -> tuple[str, str, str]:
    return (
        f"x-ratelimit-limit-{measure}",
        f"x-ratelimit-remaining-{measure}",
        f"x-ratelimit-reset-{measure}",
    )


_REQUESTS, _TOKENS = _names("requests"), _names("tokens")
# The limit and the reset stay the same for the many requests an allowance admits.
_limit_text = functools.lru_cache(maxsize=256)(str)
_reset_text = functools.lru_cache(maxsize=256)(duration)


def _ceil_ms(seconds: float) -> int:
    # rounded to the microsecond first, so that 0.1 + 0.2 seconds is 300ms and not 301ms
    return max(math.ceil(round(seconds * 1000, 3)), 0)
