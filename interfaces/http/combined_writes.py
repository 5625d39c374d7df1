"""uvicorn's HTTP/1.1 protocol (httptools) with a connection's writes sent together at the end
of the event loop's turn, a stream's head with its first chunk at once.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body at `http.response.body`: two system calls and two TCP
segments for every plain answer, which the client has to read apart. Both messages of a plain
answer are sent in the same turn of the event loop, so here a connection's writes wait for the
end of that turn and go out together: one call, one segment, made once the request's own work
is done. A stream's first chunk goes out as soon as it is sent, with the stream's head (chunked:
no length) if that still waits; the head goes alone at the end of its turn if the chunk has not
come. Later chunks that come together leave together at the end of their turn, never held
longer.

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
    """A transport whose writes wait for the end of the loop's turn and then go out in one
    call; a stream's head and first chunk go at once."""

    __slots__ = ("_first_chunk", "_loop", "_pending", "inner")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self._loop = loop
        self._pending: list[bytes] = []
        self._first_chunk = False  # a stream's first chunk is still to come

    def write(self, data: bytes) -> None:
        if not data:
            return
        pending = self._pending
        if not pending:
            self._loop.call_soon(self.flush)
        pending.append(data)
        if _is_head(data):
            self._first_chunk = _CHUNKED in data
        elif self._first_chunk:
            self._first_chunk = False
            self.flush()

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
