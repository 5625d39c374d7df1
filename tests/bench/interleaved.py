"""One client, one keep-alive connection, two kinds of request sent in turn and each timed to
its full response: an A/B comparison that the machine's drift cannot bias.

Runs of wrk one after the other compare moments as much as requests: on a shared machine one
10 s run's p99 moves by milliseconds from the next one's. Here every pair of requests, one of
each kind in a random order, is sent within a few milliseconds, so whatever else the machine is
doing falls on both kinds alike, and the difference of their percentiles is what the requests
themselves cost. The gateway still sees one request at a time, as from one client.

The client is a plain blocking socket (HTTP/1.1, `Content-Length` or chunked answers): the same
few microseconds of its own for either kind.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"


@dataclass
class Timings:
    """Seconds to the full response, per kind, in the order sent; answers other than 200."""

    latencies: dict[str, list[float]]
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(times) for times in self.latencies.values()) + len(self.failures)


def raw_request(url: str, body: bytes, key: str) -> bytes:
    """A POST of `body` to `url` with a bearer key, as the bytes sent on the connection."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"need a host and a port: {url}")
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def close(self) -> None:
        self._sock.close()

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Sends one request and reads its whole answer: (status, body)."""
        self._sock.sendall(request)
        while _HEAD_END not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(_HEAD_END)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        if "content-length" in headers:
            return status, self._take(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return status, self._chunks()
        raise ValueError(f"an answer with neither a length nor chunks: {headers}")

    def _fill(self) -> None:
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self._buffer += data

    def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return body

    def _chunks(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self._buffer:
                self._fill()
            line, _, self._buffer = self._buffer.partition(b"\r\n")
            size = int(line.split(b";", 1)[0], 16)
            chunk = self._take(size + 2)[:size]
            if size == 0:
                return body
            body += chunk


def alternate(url: str, requests: dict[str, bytes], seconds: float, *, seed: int = 0) -> Timings:
    """Sends one request of each kind per round, in a random order, for `seconds`."""
    shuffle = random.Random(seed).shuffle
    names = list(requests)
    timings = Timings({name: [] for name in names})
    connection = Connection(url)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shuffle(names)
            for name in names:
                started = time.perf_counter()
                status, body = connection.exchange(requests[name])
                elapsed = time.perf_counter() - started
                if status == 200:
                    timings.latencies[name].append(elapsed)
                else:
                    timings.failures.append(f"{name}: {status} {body[:200]!r}")
    finally:
        connection.close()
    return timings


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank percentile `q` (0–100) of values sorted ascending."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(int(-(-q * len(sorted_values) // 100)), 1)  # ceil(q/100 · n), at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]
