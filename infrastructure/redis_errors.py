"""Telling a Redis outage from a bug: a Redis that is stopped, restarting or not answering in
time. The request that met it changed nothing the caller could see and may succeed once Redis is
back, so it is answered 503 with `Retry-After`, never 500."""

from __future__ import annotations

import sys

RETRY_AFTER = "2"
MESSAGE = "A service the gateway depends on (Redis) is unavailable; try again shortly."


def is_redis_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or an error it was raised from, is Redis being unreachable."""
    exceptions = sys.modules.get("redis.exceptions")
    if exceptions is None:  # redis is imported only where configured: none of its errors
        return False
    outage = (
        exceptions.ConnectionError,  # refused, reset, closed (BusyLoadingError too)
        exceptions.TimeoutError,
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, outage):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
