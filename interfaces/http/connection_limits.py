"""The bounds every client connection of a serving process is held to, before any request work:
how many connections it holds, how many from one address, and how long a client may take to
send a request's headers and its body (`server.*` in the configuration).

One `ConnectionLimits` per process, made by the app factory (`configure`) and read by the
HTTP protocol (`interfaces.http.guarded_protocol`) on every connection. Counts are per process:
with `server.workers` above 1, each worker holds its own share of the caps.
"""

from __future__ import annotations

import ipaddress
import json

from infrastructure.settings import Settings

FD_RESERVE = 256
"""Open files a serving process keeps for itself besides its client connections, its database
pool and its upstream connections: log files, Redis, the accounting process, DNS..."""

EXEMPT_CACHE = 4096  # addresses whose trusted-proxy check is remembered


def _answer(status: int, reason: str, error_type: str, code: str, message: str) -> bytes:
    """A whole response that closes its connection: the error object in OpenAI's shape, with
    Anthropic's `type: "error"` beside it, since no route has been read yet."""
    body = json.dumps(
        {
            "type": "error",
            "error": {"message": message, "type": error_type, "param": None, "code": code},
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        + ("retry-after: 1\r\n" if status != 408 else "")
        + "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


TOO_MANY_FROM_ADDRESS = _answer(
    429,
    "Too Many Requests",
    "rate_limit_error",
    "too_many_connections",
    "Too many open connections from this address; close some, or retry later.",
)
SERVER_FULL = _answer(
    503,
    "Service Unavailable",
    "service_unavailable",
    "too_many_connections",
    "The server holds as many connections as it may; retry shortly.",
)
TIMED_OUT = _answer(
    408,
    "Request Timeout",
    "invalid_request_error",
    "request_timeout",
    "The request was not received in time; the connection is closed.",
)


class ConnectionLimits:
    """The caps and timers, and what is counted against them in this process."""

    __slots__ = (
        "_exempt",
        "_trusted",
        "body_timeout",
        "body_timeouts",
        "by_address",
        "header_timeout",
        "header_timeouts",
        "max_connections",
        "open",
        "per_address",
        "refused_busy",
        "refused_per_address",
    )

    def __init__(
        self,
        *,
        max_connections: int,
        per_address: int,
        header_timeout: float,
        body_timeout: float,
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        self.max_connections = max_connections
        self.per_address = per_address
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._trusted = tuple(ipaddress.ip_network(net, strict=False) for net in trusted_proxies)
        self._exempt: dict[str, bool] = {}
        self.open = 0
        self.by_address: dict[str, int] = {}
        self.refused_busy = 0
        self.refused_per_address = 0
        self.header_timeouts = 0
        self.body_timeouts = 0

    def admit(self, host: str | None) -> str | bytes | None:
        """Counts a new connection from `host` in: the key it is counted under per address
        (None: not counted per address), or the answer that refuses it."""
        if self.open >= self.max_connections:
            self.refused_busy += 1
            return SERVER_FULL
        key = self._address_key(host)
        if key is not None:
            held = self.by_address.get(key, 0)
            if held >= self.per_address:
                self.refused_per_address += 1
                return TOO_MANY_FROM_ADDRESS
            self.by_address[key] = held + 1
        self.open += 1
        return key

    def release(self, key: str | None) -> None:
        """A connection `admit` let in has closed."""
        self.open -= 1
        if key is not None:
            held = self.by_address[key] - 1
            if held:
                self.by_address[key] = held
            else:
                del self.by_address[key]

    def _address_key(self, host: str | None) -> str | None:
        if not host:
            return None  # a Unix socket: no address to count
        if self._trusted and self._is_proxy(host):
            return None
        if ":" in host:  # IPv6: one client holds a whole /64
            try:
                address = ipaddress.IPv6Address(host)
            except ValueError:
                return host
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return address.packed[:8].hex()
        return host

    def _is_proxy(self, host: str) -> bool:
        exempt = self._exempt.get(host)
        if exempt is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                exempt = False
            else:
                exempt = any(address in network for network in self._trusted)
            if len(self._exempt) >= EXEMPT_CACHE:
                self._exempt.clear()
            self._exempt[host] = exempt
        return exempt


def connection_cap(settings: Settings, open_files: int | None) -> int:
    """`server.max_connections`, lowered to what `open_files` (the process's limit) leaves once
    the database pool, the upstream connections and `FD_RESERVE` are set aside."""
    wanted = settings.server.max_connections
    if open_files is None:
        return wanted
    upstream = sum(provider.max_connections for provider in settings.providers)
    left = open_files - FD_RESERVE - settings.database.pool_size - upstream
    return max(1, min(wanted, left))


def limits_of(settings: Settings, open_files: int | None) -> ConnectionLimits:
    server = settings.server
    return ConnectionLimits(
        max_connections=connection_cap(settings, open_files),
        per_address=server.max_connections_per_ip,
        header_timeout=server.header_timeout,
        body_timeout=server.body_timeout,
        trusted_proxies=tuple(server.trusted_proxies),
    )


_current: ConnectionLimits | None = None


def configure(limits: ConnectionLimits) -> None:
    """The limits this process's connections are held to from now on."""
    global _current
    _current = limits


def current() -> ConnectionLimits | None:
    """The limits in force; None when no app factory configured any (an app served by hand)."""
    return _current
