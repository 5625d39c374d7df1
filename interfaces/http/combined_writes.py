"""uvicorn's HTTP/1.1 protocol (httptools) with a plain answer sent in one write, at the end of
the event loop's turn.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body at `http.response.body`: two system calls and two TCP
segments for every plain answer, which the client has to read apart. Both messages of a plain
answer are sent in the same turn of the event loop, so here they wait for the end of that turn
and go out together: one call, one segment, made once the request's own work is done. A stream
(its head says `transfer-encoding: chunked`) is written as uvicorn writes it: its head and each
chunk at once, so nothing delays its first event.

Everything else the protocol does with its transport goes to the connection's own; closing
writes what waits first. A WebSocket upgrade hands the connection's own transport to the
WebSocket protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _is_head(data: bytes) -> bool:
    """Whether a write is a response's status line and headers, as uvicorn writes them."""
    return data[:7] == b"HTTP/1." and data[-4:] == b"\r\n\r\n"


_CHUNKED = b"\r\ntransfer-encoding: chunked\r\n"  # as uvicorn writes it for a stream


class CombinedWrites:
    """A transport whose writes of a plain answer wait for the end of the loop's turn and go
    out in one call; a stream's go at once."""

    __slots__ = ("_loop", "_pending", "_streaming", "inner")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self._loop = loop
        self._pending: list[bytes] = []
        self._streaming = False  # the response being written is a stream

    def write(self, data: bytes) -> None:
        if not data:
            return
        if _is_head(data):
            self._streaming = _CHUNKED in data
        pending = self._pending
        if self._streaming:
            if pending:
                pending.append(data)
                self.flush()
            elif not self.inner.is_closing():
                self.inner.write(data)
            return
        if not pending:
            self._loop.call_soon(self.flush)
        pending.append(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self.inner.is_closing():
            self.inner.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.inner.close()

    def write_eof(self) -> None:
        self.flush()
        self.inner.write_eof()

    def abort(self) -> None:
        self._pending = []
        self.inner.abort()

    def get_write_buffer_size(self) -> int:
        return self.inner.get_write_buffer_size() + sum(len(data) for data in self._pending)

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
