"""Anthropic Messages passed through untouched (the `/v1/messages` route to an Anthropic model):
the events go to the client byte for byte while the gateway reads the usage from them."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec

from infrastructure.adapters.providers.anthropic_response import usage_of
from infrastructure.adapters.providers.anthropic_stream import latest_usage
from infrastructure.adapters.providers.sse import event_fields
from infrastructure.adapters.providers.upstream_http import UpstreamHttp
from infrastructure.adapters.providers.upstream_stream import UpstreamStream

_decoder = msgspec.json.Decoder()
_WATCHED = frozenset({"message_start", "message_delta", "message_stop", "content_block_delta"})


class NativeMessagesStream(UpstreamStream):
    def __init__(self, http: UpstreamHttp, response: aiohttp.ClientResponse) -> None:
        super().__init__(http, response)
        self._usage: dict[str, Any] = {}  # the usage counts read so far, the latest of each

    def _on_events(self, events: list[bytes]) -> bytes:
        tally = self.tally
        for seen, event in enumerate(events, 1):
            self._watch(event)
            if tally.output_chars > tally.most_chars:
                events = events[:seen]  # past what the call reserved: the gateway cuts here
                break
        return b"\n\n".join(events) + b"\n\n" if events else b""

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
        if name in ("message_start", "message_delta"):
            message = parsed.get("message") if name == "message_start" else parsed
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                latest_usage(self._usage, usage)
            self.tally.usage = usage_of(self._usage)
        elif name == "message_stop":
            self.tally.finished = True
        else:
            delta = parsed.get("delta")
            if isinstance(delta, dict):
                piece = delta.get("text") or delta.get("partial_json") or ""
                self.tally.output_chars += len(piece) if isinstance(piece, str) else 0
