"""uvicorn's HTTP/1.1 protocol (httptools) with a connection's writes of one loop turn sent as one.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body at `http.response.body`: two system calls and two TCP
segments for every plain answer, which the client has to read apart. Both messages of a plain
answer are sent in the same turn of the event loop, so here a connection's writes wait until
the end of that turn and go out together: one call, one segment. A stream's chunks, sent in
turns of their own as they arrive, each still go out in the turn they were sent in.

Everything else the protocol does with its transport goes to the connection's own; closing
writes what waits first. A WebSocket upgrade hands the connection's own transport to the
WebSocket protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CombinedWrites:
    """A transport whose writes of one loop turn are sent in one call, at the turn's end."""

    __slots__ = ("_loop", "_pending", "inner")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self.inner.is_closing():
            self.inner.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.inner.close()

    def write_eof(self) -> None:
        self.flush()
        self.inner.write_eof()

    def abort(self) -> None:
        self._pending = None
        self.inner.abort()

    def get_write_buffer_size(self) -> int:
        waiting = sum(len(data) for data in self._pending) if self._pending else 0
        return self.inner.get_write_buffer_size() + waiting

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading...
        return getattr(self.inner, name)


class CombinedWritesHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.run(http=...)`: the httptools protocol over `CombinedWrites`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        combined: Any = CombinedWrites(transport, self.loop)
        super().connection_made(combined)

    def handle_websocket_upgrade(self) -> None:
        combined = self.transport
        if isinstance(combined, CombinedWrites):
            combined.flush()
            self.transport = combined.inner
        super().handle_websocket_upgrade()
