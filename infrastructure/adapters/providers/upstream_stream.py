"""What every upstream stream shares: reading SSE events as they arrive, turning transport
failures into gateway errors, and closing so the upstream sees a cut connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from domains.providers.errors import UpstreamError
from domains.providers.ports import StreamTally
from infrastructure.adapters.providers.sse import SseSplitter
from infrastructure.adapters.providers.upstream_http import UpstreamHttp


class UpstreamStream:
    """Subclasses say what the client gets for each batch of events (`_on_events`) and when
    the upstream has finished (`_on_end`); one write per upstream read, never buffered whole.
    A subclass that reads a failure in an event sets `failure`: the events before it are
    passed on, then it is raised."""

    failure: UpstreamError | None = None

    def __init__(self, http: UpstreamHttp, response: aiohttp.ClientResponse) -> None:
        self._http = http
        self._response = response
        self.tally = StreamTally()
        self._closed = False

    def _on_events(self, events: list[bytes]) -> bytes:
        raise NotImplementedError

    def _on_end(self, rest: bytes | None) -> bytes:
        return self._on_events([rest]) if rest is not None else b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        splitter = SseSplitter()
        try:
            async for data in self._response.content.iter_any():
                out = self._on_events(splitter.feed(data))
                if out:
                    yield out
                if self.failure is not None:
                    raise self.failure
        except TimeoutError as error:
            raise self._http.timed_out() from error
        except aiohttp.ClientError as error:
            raise self._http.unreachable(error) from error
        tail = self._on_end(splitter.rest())
        if tail:
            yield tail
        if self.failure is not None:
            raise self.failure

    async def aclose(self) -> None:
        # Never suspends, so it completes even inside a cancelled scope (client gone).
        if self._closed:
            return
        self._closed = True
        if self.tally.finished:
            self._response.release()
        else:
            self._response.close()  # the upstream sees the connection close: generation stops
