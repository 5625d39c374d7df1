"""The HTTP/1.1 protocol `fluxrouter serve` runs: `CombinedWritesHttpToolsProtocol` with every
connection held to the process's `ConnectionLimits` before any request work.

* A connection beyond `server.max_connections` is answered 503, one beyond
  `server.max_connections_per_ip` from its address 429, in one write as it is accepted, and
  closed: no request is read, nothing of the app runs.
* A client has `server.header_timeout` seconds to finish a request's headers: from the moment
  its connection opens, and for a next request on a kept-alive connection from that request's
  first byte (the wait before it is uvicorn's keep-alive timeout). Then the connection is closed,
  after a 408 when part of a request had come (none to a connection that sent nothing, which a
  client may have opened ahead of a request).
* Once the headers are in, the body has `server.body_timeout` seconds to arrive whole. Then the
  request is answered 408 (unless its answer has begun), its app sees the client disconnect, and
  the connection is closed.

A WebSocket upgrade hands its place in the counts to the WebSocket protocol
(`CountedWebSocketProtocol`), which gives it back when the socket closes.

The cost: one timer per connection (its first request's head), one more only for a request that
one read of the socket leaves unfinished, and a few attribute checks per request
(docs/operations.md has the figures).
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from interfaces.http import connection_limits
from interfaces.http.combined_writes import CombinedWritesHttpToolsProtocol
from interfaces.http.connection_limits import TIMED_OUT, ConnectionLimits

_REFUSED = object()  # the address key of a connection that was refused
_UNCOUNTED = object()  # ... of one no limits apply to (no app factory configured any)


class GuardedHttpToolsProtocol(CombinedWritesHttpToolsProtocol):
    """`uvicorn.run(http=...)`: uvicorn's httptools protocol, combined writes, held to limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits: ConnectionLimits | None = connection_limits.current()
        self._address: object = _UNCOUNTED
        self._timer: TimerHandle | None = None
        self._in_body = False  # its head is in, its body is still to come

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self._limits
        if limits is None:
            return
        client = self.client
        admitted = limits.admit(client[0] if client is not None else None)
        if isinstance(admitted, bytes):
            self._address = _REFUSED
            self.transport.write(admitted)
            self.transport.close()
            return
        self._address = admitted
        self._timer = self.loop.call_later(limits.header_timeout, self._late)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)
        self._release()

    def _release(self) -> None:
        address = self._address
        if address is _REFUSED or address is _UNCOUNTED:
            return
        self._address = _UNCOUNTED
        assert self._limits is not None
        self._limits.release(address)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self._address is _REFUSED:
            return
        super().data_received(data)
        # A timer only for a request this read left unfinished: most come whole in one read.
        if self._timer is None and (self._in_body or self._in_head()):
            limits = self._limits
            if limits is not None:
                wait = limits.body_timeout if self._in_body else limits.header_timeout
                self._timer = self.loop.call_later(wait, self._late)

    def _in_head(self) -> bool:
        """Whether part of a request's head has come, not all of it (uvicorn gives a request
        its scope at its first byte, and the scope its method at the end of its head)."""
        scope = self.scope
        return scope is not None and "method" not in scope

    def on_headers_complete(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._in_body = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._in_body = False
        super().handle_websocket_upgrade()
        socket = self.transport.get_protocol()
        if isinstance(socket, CountedWebSocketProtocol):
            socket.on_closed = self._release  # the WebSocket holds the connection's place now

    def _late(self) -> None:
        """The header or body timeout: a 408 where one may be sent, then the connection
        closed."""
        self._timer = None
        transport = self.transport
        if transport.is_closing():
            return
        limits = self._limits
        assert limits is not None
        if self._in_body and self.flow.read_paused:
            # the app is not reading the body (yet): the wait is not the client's
            self._timer = self.loop.call_later(limits.body_timeout, self._late)
            return
        if self._in_body:
            limits.body_timeouts += 1
            cycle = self.cycle
            answered = cycle is not None and cycle.response_started
            if cycle is not None:  # its app reads `http.disconnect` and sends nothing more
                cycle.disconnected = True
                cycle.message_event.set()
            if not answered:
                transport.write(TIMED_OUT)
        else:
            limits.header_timeouts += 1
            if self._in_head():  # none to a connection that has asked nothing
                transport.write(TIMED_OUT)
        self._in_body = False
        transport.close()


class CountedWebSocketProtocol(WebSocketsSansIOProtocol):
    """`uvicorn.run(ws=...)`: uvicorn's websockets (sans-I/O) protocol, which gives its
    connection's place in the counts back when it closes."""

    on_closed: Callable[[], None] | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            closed, self.on_closed = self.on_closed, None
            if closed is not None:
                closed()
