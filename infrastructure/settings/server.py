"""`server` and `websocket`: how the gateway listens, and the limits it holds its clients to."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import FINITE, SECONDS, Invalid, check_url, quote

_ORIGIN = r"\A(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\*)\Z"
Origin = Annotated[
    str,
    Meta(
        pattern=_ORIGIN,
        extra={"message": "must be an origin like https://app.example.com (or *)"},
    ),
]
"""As browsers send it (scheme://host[:port], no path), or `*`."""


class ServerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8080
    public_url: str | None = None
    workers: Annotated[int, Meta(ge=1)] = 1
    max_request_bytes: Annotated[int, Meta(ge=1)] = 8388608
    cors_origins: list[Origin] = msgspec.field(default_factory=list)
    """Origins browsers may call the API from (`https://app.example.com`, or `*`: any); empty:
    CORS is off and no CORS header is ever sent."""
    refused_credentials_burst: Annotated[int, Meta(ge=0)] = 100
    """Credentials one client address may have refused at once (0: no limit)..."""
    refused_credentials_per_second: Annotated[float, Meta(gt=0, le=FINITE)] = 10.0
    """... and more each second; past that, its requests with credentials not already accepted
    are answered 429 with no lookup (docs/security.md)."""
    header_timeout: Annotated[float, Meta(ge=0.1, le=3600, extra=SECONDS)] = 15.0
    """Seconds a client has to finish a request's headers: from the moment its connection opens,
    and on a kept-alive connection from the first byte of its next request. Then the connection
    is closed (after a 408 when part of a request had come)."""
    body_timeout: Annotated[float, Meta(ge=0.1, le=86400, extra=SECONDS)] = 60.0
    """Seconds a client has to finish a request's body once its headers are in; then it is
    answered 408 and the connection closed."""
    max_connections: Annotated[int, Meta(ge=1, le=10_000_000)] = 10000
    """Open client connections one serving process holds at most (WebSockets included); one
    more is answered 503 and closed at once. Lowered at start to what the process's open-files
    limit leaves after the database, Redis and upstream connections."""
    max_connections_per_ip: Annotated[int, Meta(ge=1, le=10_000_000)] = 500
    """Open connections one serving process holds from one client address (an IPv6 client: its
    /64); one more is answered 429 and closed at once. Connections from `trusted_proxies` are
    not counted per address."""
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/8`) of reverse proxies in front of the
    gateway: their `X-Forwarded-For` names the client, and their connections are exempt from
    `max_connections_per_ip` (the proxy limits its clients). Empty: no one is trusted, the
    client is the socket's peer."""

    def __post_init__(self) -> None:
        if self.public_url is not None:
            check_url("public_url", self.public_url)
        for index, proxy in enumerate(self.trusted_proxies):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                wrong = f"must be an IP address or network (10.0.0.0/8), got {quote(proxy)}"
                raise Invalid(f"trusted_proxies[{index}]", wrong) from None


class WebSocketSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`GET /v1/ws` and `GET /v1/responses` upgraded: the WebSocket chat's and the Responses
    WebSocket mode's limits and timers (docs/websocket.md, docs/responses.md)."""

    max_generations: Annotated[int, Meta(ge=1, le=1000)] = 8
    """Generations one connection may run at once (on a Responses socket: responses running or
    waiting in its lanes); one more is refused with an error."""
    max_message_bytes: Annotated[int, Meta(ge=1024, le=1 << 30)] = 1048576
    """A larger client message is answered with an error (the connection stays open)."""
    idle_timeout: Annotated[float, Meta(ge=1, le=86400, extra=SECONDS)] = 300.0
    """Seconds without a client message and with nothing running before the server closes."""
    ping_interval: Annotated[float, Meta(ge=0, le=86400, extra=SECONDS)] = 20.0
    """Seconds between the server's WebSocket pings (0: none)."""
    ping_timeout: Annotated[float, Meta(ge=1, le=86400, extra=SECONDS)] = 20.0
    """Seconds a ping may go unanswered before the connection is dropped."""
    auth_timeout: Annotated[float, Meta(ge=0.1, le=86400, extra=SECONDS)] = 5.0
    """Seconds a connection without credentials has to send its `auth` message."""
    send_queue: Annotated[int, Meta(ge=1, le=100_000)] = 64
    """Messages waiting for a slow reader before the generations feeding them pause."""
    max_connections_per_key: Annotated[int, Meta(ge=1, le=1_000_000)] = 50
    """Open connections one virtual key may hold on one serving process; one more is refused
    (`429 too_many_connections`, close 4429)."""
    responses_max_lifetime: Annotated[float, Meta(ge=1, le=604800, extra=SECONDS)] = 3600.0
    """Seconds a Responses WebSocket connection lasts (OpenAI's 60 minutes): from then on each
    `response.create` is refused (`websocket_connection_limit_reached`), and once the responses
    it holds have ended the server closes it (1001)."""
    responses_lifetime_grace: Annotated[float, Meta(ge=0, le=86400, extra=SECONDS)] = 300.0
    """Seconds the responses a connection holds at its `responses_max_lifetime` have to end;
    any still running then is stopped (billed for what it produced) and the connection closed."""

    @property
    def frame_limit(self) -> int:
        """The largest message the transport reads at all (a larger one closes the connection
        with 1009); messages between `max_message_bytes` and this get an error instead."""
        return max(2 * self.max_message_bytes, self.max_message_bytes + 65536)
