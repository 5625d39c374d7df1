"""A vendor's stream, translated event by event into OpenAI chat.completion.chunk SSE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import msgspec

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage
from infrastructure.adapters.providers.error_reading import ErrorReading
from infrastructure.adapters.providers.sse import event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp
from infrastructure.adapters.providers.upstream_stream import UpstreamStream

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


class TranslatedChatStream(UpstreamStream):
    def __init__(
        self,
        http: UpstreamHttp,
        response: aiohttp.ClientResponse,
        state: TranslatorState,
        feed: Feed,
        finish: Finish = _nothing_more,
    ) -> None:
        super().__init__(http, response)
        self._translator = state
        self._feed = feed
        self._finish = finish

    def _on_events(self, events: list[bytes]) -> bytes:
        tally, out = self.tally, []
        for event in events:
            out.append(self._translate(event))
            if tally.output_chars > tally.most_chars:
                break  # past what the call reserved: the gateway cuts the stream here
        return b"".join(out)

    def _on_end(self, rest: bytes | None) -> bytes:
        tail = self._translate(rest) if rest is not None else b""
        tail += b"".join(sse_chunk(chunk) for chunk in self._finish())
        self._sync_tally()
        return tail + DONE if self.tally.finished else tail

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
        try:
            chunks = self._feed(name, parsed)
        except UpstreamError as error:  # an error event: its message is scrubbed like any other
            reading = ErrorReading(error.condition, error.message, error.param, error.retry_after)
            raise self._http.failed(reading, upstream_status=error.upstream_status) from None
        self._sync_tally()
        return b"".join(sse_chunk(chunk) for chunk in chunks)

    def _sync_tally(self) -> None:
        self.tally.usage = self._translator.usage
        self.tally.output_chars = self._translator.output_chars
        self.tally.finished = self._translator.finished
