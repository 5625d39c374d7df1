"""OpenAI `chat.completion.chunk` stream → OpenAI Responses stream events, one chunk at a time.

The sequence is the Responses API's: `response.created`, `response.in_progress`; per output item
`response.output_item.added`, then for a message `response.content_part.added`, its
`response.output_text.delta` (or `response.refusal.delta`) events, `response.output_text.done`,
`response.content_part.done`; for a function call its `response.function_call_arguments.delta`
events and `response.function_call_arguments.done`; then `response.output_item.done`. The
stream ends with `response.completed` (or `response.incomplete` when the answer stopped at its
length or a content filter; `response.failed` when the upstream failed mid-way), carrying the
whole response with its usage. Every event has its `sequence_number`, from 0.

Items follow one another as the chat answer's parts do: a message, then one function call per
tool call (an item is done when the next one starts). OpenAI sends usage after the
finish_reason, so the last event waits for it (or for the end of the stream).

Over 300 lines on purpose: one state machine (`ChatChunksToResponseEvents`), whose items, their
order and the sequence numbers every event shares.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from domains.providers.model import answered_model
from infrastructure.adapters.providers.sse import SseSplitter, data_values
from interfaces.http.responses.reasoning_items import reasoning_item, summary_asked, thinking_blocks
from interfaces.http.responses.translate_response import (
    call_item,
    error_object,
    item_id,
    message_item,
    response_object,
    response_usage,
    status_of,
)

Event = dict[str, Any]
_encoder = msgspec.json.Encoder()


def encode_event(event: Event) -> bytes:
    """One event as SSE: `event: <type>` and its JSON data."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + _encoder.encode(event) + b"\n\n"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Item:
    """An output item under way: a reasoning item (its text and thinking blocks), a message
    (its text and refusal parts) or a function call."""

    def __init__(self, kind: str, item_id_: str, index: int) -> None:
        self.kind = kind
        self.id = item_id_
        self.index = index
        self.parts: list[list[str]] = []  # [part type, text so far], in content order
        self.call_id = ""
        self.name = ""
        self.arguments = ""
        self.key: object = None
        self.status = "in_progress"
        self.thinking = ""
        self.blocks: list[dict[str, Any]] = []
        self.summarized = False  # its summary part was added

    def as_item(self, status: str) -> dict[str, Any]:
        if self.kind == "reasoning":
            return reasoning_item(
                self.id, self.thinking, self.blocks, summarized=self.summarized, status=status
            )
        if self.kind == "function_call":
            return call_item(self.id, self.call_id, self.name, self.arguments, status=status)
        item = message_item(self.id, "", "", status=status)
        item["content"] = [_part(kind, text) for kind, text in self.parts]
        return item


def _part(kind: str, text: str) -> dict[str, Any]:
    if kind == "refusal":
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


class ChatChunksToResponseEvents:
    """Feed it each parsed chat chunk; send on the events it returns (`encode_event`); call
    `finish()` when the upstream stream ends. `done` is true once the last event (completed,
    incomplete or failed) has been returned, and `response` is then the final response object;
    later chunks are ignored. `cancelled()` is the response of a stream closed before its end.

    Only the first choice is read. Argument pieces for a function call whose item is done
    already (chat upstreams do not interleave calls) cannot be sent any more and are dropped.
    Reasoning deltas (`reasoning_content`, and the `thinking_blocks` Anthropic answers carry)
    make a `reasoning` item: its summary streams (`response.reasoning_summary_part.added`,
    `response.reasoning_summary_text.delta` events, `response.reasoning_summary_text.done`,
    `response.reasoning_summary_part.done`) when the request asked for a summary."""

    def __init__(
        self, request: dict[str, Any], *, response_id: str, created_at: int, model: str
    ) -> None:
        self._request = request
        self._id = response_id
        self._created_at = created_at
        self._model = model
        self._sequence = 0
        self._started = False
        self._items: list[_Item] = []
        self._open: _Item | None = None
        self._calls: set[object] = set()  # the keys of the calls an item was opened for
        self._finish: Any = None
        self._usage: dict[str, Any] | None = None
        self._summarize = summary_asked(request)
        self.done = False
        self.response: dict[str, Any] | None = None

    # --- feeding -------------------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[Event]:
        if self.done or not isinstance(chunk, dict):
            return []
        if not self._started:  # the model that answered, as the first chunk names it
            self._model = answered_model(chunk.get("model"), self._model)
        events = self._start()
        if chunk.get("error") is not None:
            return events + self._fail(error_object(chunk["error"]))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = response_usage(usage)
        choices = chunk.get("choices")
        choices = choices if isinstance(choices, list) else []
        for choice in map(_dict, choices):
            if choice.get("index", 0) not in (0, None) or self._finish is not None:
                continue
            events += self._delta(_dict(choice.get("delta")))
            finish = choice.get("finish_reason")
            if finish is not None:
                self._finish = finish
                events += self._close()
        # the usage comes last, with no choices (or on the finish_reason chunk itself)
        if isinstance(usage, dict) and (self._finish is not None or not choices):
            events += self._end()
        return events

    def finish(self) -> list[Event]:
        """The upstream stream ended: whatever is still due, up to the last event."""
        if self.done:
            return []
        return [*self._start(), *self._close(), *self._end()]

    def cancelled(self) -> dict[str, Any]:
        """The response of a stream that ended before its last event (the client left)."""
        if self.response is not None:
            return self.response
        return self._response("cancelled", self._output_so_far())

    # --- the pieces ----------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _response(self, status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return response_object(
            self._request,
            response_id=self._id,
            created_at=self._created_at,
            model=self._model,
            status=status,
            output=output,
            **extra,
        )

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [
            self._event("response.created", response=self._response("in_progress", [])),
            self._event("response.in_progress", response=self._response("in_progress", [])),
        ]

    def _delta(self, delta: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        thinking = delta.get("reasoning_content")
        blocks = thinking_blocks(delta.get("thinking_blocks"))
        if (isinstance(thinking, str) and thinking) or blocks:
            events += self._reasoning(thinking if isinstance(thinking, str) else "", blocks)
        for kind, key in (("output_text", "content"), ("refusal", "refusal")):
            text = delta.get(key)
            if isinstance(text, str) and text:
                events += self._text(kind, text)
        calls = delta.get("tool_calls")
        for call in map(_dict, calls if isinstance(calls, list) else ()):
            events += self._tool_call(call)
        return events

    def _open_item(self, kind: str) -> tuple[_Item, list[Event]]:
        events = self._close()
        item = _Item(kind, item_id(kind, self._id, len(self._items)), len(self._items))
        self._items.append(item)
        self._open = item
        return item, events

    def _reasoning(self, text: str, blocks: list[dict[str, Any]]) -> list[Event]:
        events: list[Event] = []
        item = self._open
        if item is None or item.kind != "reasoning":
            item, events = self._open_item("reasoning")
            added = item.as_item("in_progress")
            events.append(
                self._event("response.output_item.added", output_index=item.index, item=added)
            )
        item.blocks += blocks
        if not text:
            return events
        fields: dict[str, Any] = {
            "item_id": item.id,
            "output_index": item.index,
            "summary_index": 0,
        }
        if self._summarize and not item.summarized:
            item.summarized = True
            part = {"type": "summary_text", "text": ""}
            events.append(self._event("response.reasoning_summary_part.added", **fields, part=part))
        item.thinking += text
        if item.summarized:
            events.append(
                self._event("response.reasoning_summary_text.delta", **fields, delta=text)
            )
        return events

    def _text(self, kind: str, text: str) -> list[Event]:
        events: list[Event] = []
        item = self._open
        if item is None or item.kind != "message":
            item, events = self._open_item("message")
            added = item.as_item("in_progress")
            events.append(
                self._event("response.output_item.added", output_index=item.index, item=added)
            )
        if not item.parts or item.parts[-1][0] != kind:
            if item.parts:
                events += self._part_done(item)
            item.parts.append([kind, ""])
            events.append(
                self._event(
                    "response.content_part.added",
                    item_id=item.id,
                    output_index=item.index,
                    content_index=len(item.parts) - 1,
                    part=_part(kind, ""),
                )
            )
        item.parts[-1][1] += text
        fields: dict[str, Any] = {
            "item_id": item.id,
            "output_index": item.index,
            "content_index": len(item.parts) - 1,
            "delta": text,
        }
        if kind == "output_text":
            events.append(self._event("response.output_text.delta", **fields, logprobs=[]))
        else:
            events.append(self._event("response.refusal.delta", **fields))
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        index, call_id = call.get("index"), call.get("id")
        key: object
        if isinstance(index, int) and not isinstance(index, bool):
            key = index
        elif isinstance(call_id, str) and call_id:
            key = call_id
        else:  # neither index nor id: a piece of the call under way
            key = self._open.key if self._open and self._open.kind == "function_call" else 0
        function = _dict(call.get("function"))
        events: list[Event] = []
        item = self._open
        if item is None or item.kind != "function_call" or item.key != key:
            if key in self._calls:
                return []  # its item is done already
            self._calls.add(key)
            item, events = self._open_item("function_call")
            item.key = key
            name = function.get("name")
            item.name = name if isinstance(name, str) else ""
            item.call_id = (
                call_id
                if isinstance(call_id, str) and call_id
                else "call_" + hashlib.sha256(item.id.encode()).hexdigest()[:24]
            )
            added = item.as_item("in_progress")
            events.append(
                self._event("response.output_item.added", output_index=item.index, item=added)
            )
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.arguments += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.id,
                    output_index=item.index,
                    delta=arguments,
                )
            )
        return events

    def _part_done(self, item: _Item) -> list[Event]:
        kind, text = item.parts[-1]
        fields = {
            "item_id": item.id,
            "output_index": item.index,
            "content_index": len(item.parts) - 1,
        }
        if kind == "output_text":
            done = self._event("response.output_text.done", **fields, text=text, logprobs=[])
        else:
            done = self._event("response.refusal.done", **fields, refusal=text)
        return [done, self._event("response.content_part.done", **fields, part=_part(kind, text))]

    def _close(self) -> list[Event]:
        """The open item is done."""
        item, self._open = self._open, None
        if item is None:
            return []
        events: list[Event] = []
        if item.kind == "reasoning":
            if item.summarized:
                fields = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
                part = {"type": "summary_text", "text": item.thinking}
                events.append(
                    self._event(
                        "response.reasoning_summary_text.done", **fields, text=item.thinking
                    )
                )
                events.append(
                    self._event("response.reasoning_summary_part.done", **fields, part=part)
                )
        elif item.kind == "message":
            if item.parts:
                events += self._part_done(item)
        else:
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item.id,
                    output_index=item.index,
                    name=item.name,
                    arguments=item.arguments,
                )
            )
        item.status = "incomplete" if status_of(self._finish)[0] == "incomplete" else "completed"
        done = item.as_item(item.status)
        events.append(self._event("response.output_item.done", output_index=item.index, item=done))
        return events

    def _output_so_far(self) -> list[dict[str, Any]]:
        """The items of a stream that ends early: those under way are incomplete."""
        return [
            item.as_item("incomplete" if item.status == "in_progress" else item.status)
            for item in self._items
        ]

    def _end(self) -> list[Event]:
        events = self._close()
        self.done = True
        status, reason = status_of(self._finish)
        output = [item.as_item(item.status) for item in self._items]
        self.response = self._response(
            status,
            output,
            usage=self._usage,
            incomplete_reason=reason,
            completed_at=self._created_at if status == "completed" else None,
        )
        kind = "response.completed" if status == "completed" else "response.incomplete"
        events.append(self._event(kind, response=self.response))
        return events

    def _fail(self, error: dict[str, Any]) -> list[Event]:
        self.done = True
        self._open = None
        output = self._output_so_far()
        self.response = self._response("failed", output, usage=self._usage, error=error)
        return [self._event("response.failed", response=self.response)]


async def chat_sse_to_response_events(
    chunks: AsyncIterator[bytes],
    request: dict[str, Any],
    *,
    response_id: str,
    created_at: int,
    model: str,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> AsyncIterator[bytes]:
    """Chat SSE from the pipeline → the Responses event sequence, as the chunks arrive.

    `on_done`, if given, is told the final response object once, however the stream ends: completed,
    incomplete or failed (before the client gets the last event, so that the response can be
    stored by the time the client asks for it), or `cancelled` when the client left first."""
    translator = ChatChunksToResponseEvents(
        request, response_id=response_id, created_at=created_at, model=model
    )
    told = False

    def encoded(events: list[Event]) -> bytes:
        nonlocal told
        done = translator.response if translator.done else None
        if on_done is not None and not told and done is not None:
            told = True
            on_done(done)
        return b"".join(encode_event(event) for event in events)

    splitter = SseSplitter()
    try:
        async with contextlib.aclosing(chunks):  # type: ignore[type-var]
            async for data in chunks:
                events: list[Event] = []
                for parsed in data_values(splitter, data):
                    events += translator.feed(parsed)
                if out := encoded(events):
                    yield out
        if tail := encoded(translator.finish()):
            yield tail
    finally:
        if on_done is not None and not told:
            told = True
            on_done(translator.cancelled())
