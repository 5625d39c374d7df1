"""The rate-limit headers OpenAI sends, from a rate decision: `x-ratelimit-*` for each limited
measure on every answer, and `Retry-After` / `retry-after-ms` on a refusal worth retrying.
Resets are durations the way OpenAI writes them: "20ms", "1s", "59.6s", "6m0s", "1h0m0s"."""

from __future__ import annotations

import math

from domains.billing.rate_limit import RateDecision, RateWindow


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
    for measure, window in (("requests", decision.requests), ("tokens", decision.tokens)):
        if window is not None:
            headers.update(_window_headers(measure, window))
    if not decision.allowed and decision.retry_after is not None:
        ms = max(_ceil_ms(decision.retry_after), 1)
        headers["Retry-After"] = str(max(math.ceil(ms / 1000), 1))
        headers["retry-after-ms"] = str(ms)
    return headers


def _window_headers(measure: str, window: RateWindow) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{measure}": str(window.limit),
        f"x-ratelimit-remaining-{measure}": str(window.remaining),
        f"x-ratelimit-reset-{measure}": duration(window.reset_seconds),
    }


def _ceil_ms(seconds: float) -> int:
    # rounded to the microsecond first, so that 0.1 + 0.2 seconds is 300ms and not 301ms
    return max(math.ceil(round(seconds * 1000, 3)), 0)
