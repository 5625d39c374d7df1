"""A vendor's stream, translated event by event into OpenAI chat.completion.chunk SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
import msgspec

from domains.providers.ports import StreamTally, Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp

DONE = b"data: [DONE]\n\n"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class ChunkTranslator(Protocol):
    """Turns one vendor SSE event into the OpenAI chunks to send now."""

    usage: Usage | None
    finished: bool
    output_chars: int

    def feed_event(self, name: str | None, data: Any) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


def sse_chunk(chunk: dict[str, Any]) -> bytes:
    return b"data: " + _encoder.encode(chunk) + b"\n\n"


class TranslatedChatStream:
    def __init__(
        self, http: UpstreamHttp, response: aiohttp.ClientResponse, translator: ChunkTranslator
    ) -> None:
        self._http = http
        self._response = response
        self._translator = translator
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
        tail += b"".join(sse_chunk(chunk) for chunk in self._translator.finish())
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
        chunks = self._translator.feed_event(name, parsed)
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
