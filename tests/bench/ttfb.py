"""Time to first byte of a streamed chat: through a target, and from the upstream directly.

One client, one keep-alive connection, requests one after the other (after a warm-up). For each:
the time from sending the request to its response's headers, and to its first SSE `data:`
event (the first chunk of the answer). The gateway opens the upstream stream before it answers,
so both include the upstream's own time to first byte; *added* = target minus direct.
"""

from __future__ import annotations

import http.client
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

from tests.bench.targets import CHAT_PATH, Target, request_body

REQUESTS = 400
WARM_UP = 50


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p / 100), len(ordered) - 1)]


def measure(target: Target, requests: int = REQUESTS) -> dict[str, Any]:
    """p50/p99 (ms) of the time to the headers and to the first `data:` event."""
    parts = urlsplit(target.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    body = request_body(True)
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
    to_headers: list[float] = []
    to_first: list[float] = []
    try:
        for i in range(WARM_UP + requests):
            started = time.perf_counter()
            conn.request("POST", CHAT_PATH, body, headers)
            response = conn.getresponse()
            got_headers = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"{target.name}: stream -> {response.status}")
            line = response.readline()
            while line and not line.startswith(b"data:"):
                line = response.readline()
            got_first = time.perf_counter()
            response.read()  # the rest, so the connection is reused
            if i >= WARM_UP:
                to_headers.append((got_headers - started) * 1000)
                to_first.append((got_first - started) * 1000)
    finally:
        conn.close()
    return {
        "requests": requests,
        "headers_p50_ms": round(statistics.median(to_headers), 3),
        "headers_p99_ms": round(_percentile(to_headers, 99), 3),
        "first_event_p50_ms": round(statistics.median(to_first), 3),
        "first_event_p99_ms": round(_percentile(to_first, 99), 3),
    }


def added(results: dict[str, dict[str, Any]], direct: str) -> dict[str, dict[str, float]]:
    """Each target's first-event p50/p99 minus the direct upstream's."""
    base = results[direct]
    return {
        name: {
            "added_first_event_p50_ms": round(
                figures["first_event_p50_ms"] - base["first_event_p50_ms"], 3
            ),
            "added_first_event_p99_ms": round(
                figures["first_event_p99_ms"] - base["first_event_p99_ms"], 3
            ),
        }
        for name, figures in results.items()
        if name != direct
    }
