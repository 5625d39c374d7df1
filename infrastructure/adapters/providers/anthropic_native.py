"""Anthropic Messages passed through untouched (the `/v1/messages` route to an Anthropic model):
the events go to the client byte for byte while the gateway reads the usage from them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec

from domains.providers.ports import StreamTally, Usage
from infrastructure.adapters.providers.anthropic_response import usage_of
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp

_decoder = msgspec.json.Decoder()
_WATCHED = frozenset({"message_start", "message_delta", "message_stop", "content_block_delta"})


class NativeMessagesStream:
    def __init__(self, http: UpstreamHttp, response: aiohttp.ClientResponse) -> None:
        self._http = http
        self._response = response
        self.tally = StreamTally()
        self._input: Usage | None = None
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        splitter = SseSplitter()
        try:
            async for data in self._response.content.iter_any():
                events = splitter.feed(data)
                for event in events:
                    self._watch(event)
                if events:
                    yield b"\n\n".join(events) + b"\n\n"
        except TimeoutError as error:
            raise self._http.timed_out() from error
        except aiohttp.ClientError as error:
            raise self._http.unreachable(error) from error
        rest = splitter.rest()
        if rest is not None:
            self._watch(rest)
            yield rest + b"\n\n"

    def _watch(self, event: bytes) -> None:
        name, data = event_fields(event)
        if name not in _WATCHED or data is None:
            return
        try:
            parsed: Any = _decoder.decode(data)
        except (msgspec.DecodeError, RecursionError):
            return
        if not isinstance(parsed, dict):
            return
        if name == "message_start":
            message = parsed.get("message")
            self._input = usage_of(message.get("usage") if isinstance(message, dict) else None)
            self.tally.usage = self._input
        elif name == "message_delta":
            output = usage_of(parsed.get("usage"))
            base = self._input or Usage()
            self.tally.usage = Usage(
                input_tokens=max(base.input_tokens, output.input_tokens),
                output_tokens=output.output_tokens,
                cached_tokens=max(base.cached_tokens, output.cached_tokens),
            )
        elif name == "message_stop":
            self.tally.finished = True
        else:
            delta = parsed.get("delta")
            if isinstance(delta, dict):
                piece = delta.get("text") or delta.get("partial_json") or ""
                self.tally.output_chars += len(piece) if isinstance(piece, str) else 0

    async def aclose(self) -> None:
        # Never suspends, so it completes even inside a cancelled scope (client gone).
        if self._closed:
            return
        self._closed = True
        if self.tally.finished:
            self._response.release()
        else:
            self._response.close()
