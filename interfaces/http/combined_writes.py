"""uvicorn's HTTP/1.1 protocol (httptools) with a response's head sent with its first body bytes.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body at `http.response.body`: two system calls and two TCP
segments for every plain answer, which the client has to read apart. Here the head waits for
the next write, the body's, and goes out with it: one call, one segment. If no body is sent in
the same turn of the event loop (a stream whose first chunk has not come yet), the head goes out
alone at the turn's end, so a client never waits for it longer than before. Every other write
goes out at once, with the head if it waits: a stream's chunks leave one by one as they are
sent, never held for the next.

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


class CombinedWrites:
    """A transport that holds a response's head until the next write, or the turn's end."""

    __slots__ = ("_held", "_loop", "inner")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        held = self._held
        if held is None and _is_head(data):
            self._held = data
            self._loop.call_soon(self.flush)
            return
        if held is not None:
            self._held = None
            data = held + data
        if not self.inner.is_closing():
            self.inner.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self.inner.is_closing():
            self.inner.write(held)

    def close(self) -> None:
        self.flush()
        self.inner.close()

    def write_eof(self) -> None:
        self.flush()
        self.inner.write_eof()

    def abort(self) -> None:
        self._held = None
        self.inner.abort()

    def get_write_buffer_size(self) -> int:
        waiting = len(self._held) if self._held is not None else 0
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
