"""A vendor's stream, translated event by event into OpenAI chat.completion.chunk SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import aiohttp
import msgspec

from domains.providers.ports import StreamTally, Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp

DONE = b"data: [DONE]\n\n"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class TranslatorState(Protocol):
    """What a vendor's stream translator knows so far."""

    @property
    def usage(self) -> Usage | None: ...

    @property
    def finished(self) -> bool: ...

    @property
    def output_chars(self) -> int: ...


# One vendor SSE event (its `event:` name, its parsed `data:`) → the OpenAI chunks to send now.
Feed = Callable[[str | None, dict[str, Any]], list[dict[str, Any]]]
# The stream ended: the chunks still owed (the usage chunk, for some vendors).
Finish = Callable[[], list[dict[str, Any]]]


def _nothing_more() -> list[dict[str, Any]]:
    return []


def sse_chunk(chunk: dict[str, Any]) -> bytes:
    return b"data: " + _encoder.encode(chunk) + b"\n\n"


class TranslatedChatStream:
    def __init__(
        self,
        http: UpstreamHttp,
        response: aiohttp.ClientResponse,
        state: TranslatorState,
        feed: Feed,
        finish: Finish = _nothing_more,
    ) -> None:
        self._http = http
        self._response = response
        self._translator = state
        self._feed = feed
        self._finish = finish
        self.tally = StreamTally()
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        splitter = SseSplitter()
        try:
            async for data in self._response.content.iter_any():
                out = b"".join(self._translate(event) for event in splitter.feed(data))
                if out:
                    yield out
            rest = splitter.rest()
            tail = self._translate(rest) if rest is not None else b""
        except TimeoutError as error:
            raise self._http.timed_out() from error
        except aiohttp.ClientError as error:
            raise self._http.unreachable(error) from error
        tail += b"".join(sse_chunk(chunk) for chunk in self._finish())
        self._sync_tally()
        if self.tally.finished:
            tail += DONE
        if tail:
            yield tail

    def _translate(self, event: bytes) -> bytes:
        name, data = event_fields(event)
        if data is None:
            return b""
        try:
            parsed = _decoder.decode(data)
        except (msgspec.DecodeError, RecursionError):
            return b""
        if not isinstance(parsed, dict):
            return b""
        chunks = self._feed(name, parsed)
        self._sync_tally()
        return b"".join(sse_chunk(chunk) for chunk in chunks)

    def _sync_tally(self) -> None:
        self.tally.usage = self._translator.usage
        self.tally.output_chars = self._translator.output_chars
        self.tally.finished = self._translator.finished

    async def aclose(self) -> None:
        # Never suspends, so it completes even inside a cancelled scope (client gone).
        if self._closed:
            return
        self._closed = True
        if self.tally.finished:
            self._response.release()
        else:
            self._response.close()
