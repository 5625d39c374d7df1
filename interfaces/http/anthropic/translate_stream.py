"""OpenAI `chat.completion.chunk` stream → Anthropic Messages SSE events, one chunk at a time.

The opposite of `infrastructure.adapters.providers.anthropic_stream`. The sequence is
Anthropic's: `message_start`; per content block `content_block_start` (the first one followed
by one `ping`), its deltas and `content_block_stop`; then `message_delta` (stop reason and
usage) and `message_stop`. OpenAI sends usage last, after the finish_reason, so
`message_delta` waits for it (or for `finish()`).

`chat_sse_to_events` runs it over the pipeline's OpenAI SSE bytes; `sse_error` and `sse_cut` end
a stream passed natively in Anthropic's events (an upstream error, a cut at the reservation).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError
from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from interfaces.http.anthropic.translate_response import (
    error_body,
    stop_reason,
    stream_error,
    tool_use_id,
    usage_block,
)

Event = tuple[str, dict[str, Any]]
_decoder = msgspec.json.Decoder()


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ChatChunksToEvents:
    """Feed it each parsed OpenAI chunk; send on the `(event, data)` pairs it returns; call
    `finish()` when the upstream stream ends. `done` is true once `message_stop` (or an
    `error` event) has been returned; later chunks are ignored.

    Only the first choice is read. Tool calls become `tool_use` blocks in the order they
    start; argument pieces for a call whose block is already closed (OpenAI calls are not
    interleaved in practice) cannot be sent any more and are dropped. Reasoning deltas
    (`reasoning_content`) are left out, as thinking blocks would need a signature.
    """

    def __init__(self, *, model: str, message_id: str) -> None:
        self._model = model
        self._id = message_id
        self._started = False
        self._pinged = False
        self._index = 0  # the index of the open block, or of the next one
        self._open: tuple[str, object] | None = None  # ("text", None) or ("tool", key)
        self._tools: set[object] = set()  # the tool calls a block was opened for
        self._stop: str | None = None
        self._usage: dict[str, int] | None = None
        self.done = False

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        if self.done or not isinstance(chunk, dict):
            return []
        if chunk.get("error") is not None:
            self.done = True
            return [("error", stream_error(chunk["error"]))]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage_block(usage)
        if not self._started:  # the model that answered, as the first chunk names it
            self._model = answered_model(chunk.get("model"), self._model)
        events = self._start()
        choices = chunk.get("choices")
        choices = choices if isinstance(choices, list) else []
        for choice in map(_dict, choices):
            if choice.get("index", 0) not in (0, None):
                continue
            events += self._delta(_dict(choice.get("delta")))
            finish = choice.get("finish_reason")
            if finish is not None and self._stop is None:
                self._stop = stop_reason(finish)
                events += self._close()
        # OpenAI's last chunk carries the usage and no choices; some upstreams put the usage
        # on the finish_reason chunk itself.
        if isinstance(usage, dict) and (self._stop is not None or not choices):
            events += self._end()
        return events

    def finish(self) -> list[Event]:
        """The upstream stream ended: whatever is still due, up to `message_stop`."""
        if self.done:
            return []
        return [*self._start(), *self._end()]

    # --- the pieces ----------------------------------------------------------------------------

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        usage = self._usage or usage_block(None)
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _delta(self, delta: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                if self._open is None or self._open[0] != "text":
                    events += self._block(("text", None), {"type": "text", "text": ""})
                events.append(self._block_delta({"type": "text_delta", "text": text}))
        calls = delta.get("tool_calls")
        for call in map(_dict, calls if isinstance(calls, list) else ()):
            events += self._tool_call(call)
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        index, call_id = call.get("index"), call.get("id")
        key: object
        if isinstance(index, int) and not isinstance(index, bool):
            key = index
        elif isinstance(call_id, str) and call_id:
            key = call_id
        else:  # neither index nor id: a piece of the call under way
            key = self._open[1] if self._open and self._open[0] == "tool" else 0
        events: list[Event] = []
        if self._open != ("tool", key):
            if key in self._tools:
                return []  # its block is closed already
            self._tools.add(key)
            name = _dict(call.get("function")).get("name")
            block = {
                "type": "tool_use",
                "id": tool_use_id(call_id),
                "name": name if isinstance(name, str) else "",
                "input": {},
            }
            events += self._block(("tool", key), block)
        arguments = _dict(call.get("function")).get("arguments")
        if isinstance(arguments, str) and arguments:
            events.append(
                self._block_delta({"type": "input_json_delta", "partial_json": arguments})
            )
        return events

    def _block(self, kind: tuple[str, object], block: dict[str, Any]) -> list[Event]:
        events = self._close()
        self._open = kind
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        events.append(("content_block_start", start))
        if not self._pinged:
            self._pinged = True
            events.append(("ping", {"type": "ping"}))
        return events

    def _block_delta(self, delta: dict[str, Any]) -> Event:
        data = {"type": "content_block_delta", "index": self._index, "delta": delta}
        return ("content_block_delta", data)

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        self._index += 1
        return [("content_block_stop", {"type": "content_block_stop", "index": self._index - 1})]

    def _end(self) -> list[Event]:
        events = self._close()
        self.done = True
        usage: dict[str, int] = {"output_tokens": 0}
        if self._usage is not None:  # cumulative totals, as Anthropic's message_delta has them
            usage = {**self._usage}
        delta = {"stop_reason": self._stop or "end_turn", "stop_sequence": None}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


def sse_error(error: UpstreamError) -> bytes:
    _, body = error_body(error.anthropic_status, error.message, error.anthropic_type)
    return encode_event("error", body)


def sse_cut(usage: Usage) -> bytes:
    """The end of a native stream cut at its reservation: the message stopped at `max_tokens`,
    with the output it is billed for."""
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
        "usage": {"output_tokens": usage.output_tokens},
    }
    return encode_event("message_delta", delta) + encode_event(
        "message_stop", {"type": "message_stop"}
    )


async def chat_sse_to_events(
    chunks: AsyncIterator[bytes], model: str, request_id: str
) -> AsyncIterator[bytes]:
    """OpenAI SSE from the pipeline → Anthropic's event sequence, as the chunks arrive."""
    translator = ChatChunksToEvents(model=model, message_id=f"msg_{request_id}")
    splitter = SseSplitter()
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for data in chunks:
            out = b""
            for event in splitter.feed(data):
                _, payload = event_fields(event)
                if payload is None or payload == b"[DONE]":
                    continue
                parsed = _decoder.decode(payload)
                if isinstance(parsed, dict):
                    out += b"".join(encode_event(n, d) for n, d in translator.feed(parsed))
            if out:
                yield out
    tail = b"".join(encode_event(name, data) for name, data in translator.finish())
    if tail:
        yield tail
