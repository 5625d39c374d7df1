"""A Responses stream passed natively (OpenAI's own events), watched on its way to the client.

The events pass byte for byte. The watch reads from them what the endings the gateway adds
need: the response as `response.created` named it (its id: the SDKs refuse a last event about
another response), the output items so far, and the next sequence number. When the stream is
cut at its reservation the watch's `sse_cut` ends it with `response.incomplete`
(`max_output_tokens`, the billed usage); when the upstream fails mid-way its `sse_error` ends
it with `response.failed`, in the gateway's words. Both are the `Dialect`'s endings for a
native stream; `relay` is the stream to send.

When the request continues a stored response (`previous_response_id`), the upstream was sent
the whole conversation instead and never saw that id: the events that carry the response
(`response.created`, `response.in_progress`, the final one...) are passed on naming it, as the
plain answer does; every other event still passes byte for byte.

`on_done`, if given, is told the final response object once, however the stream ends: from its last
event (the upstream's, or the gateway's ending), or, when it ends without one, as `failed`
(the upstream stopped) or `cancelled` (the client left).

Over 300 lines on purpose: one watch (`NativeResponseStream`) whose state (the response's id,
its items so far, the next sequence number) both endings and the relay read and write.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from interfaces.http.responses.translate_response import error_object, response_object
from interfaces.http.responses.translate_stream import encode_event

_decoder = msgspec.json.Decoder()
_LIFECYCLE = frozenset({"response.created", "response.in_progress", "response.queued"})
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_TERMINAL_MARKS = tuple(f'"{kind}"'.encode() for kind in _TERMINAL)
_MARK_SPAN = max(len(mark) for mark in _TERMINAL_MARKS) - 1
_TERMINAL_FOUND = re.compile(b"|".join(re.escape(mark) for mark in _TERMINAL_MARKS)).search
"""Where bytes hold one of the marks (one search, however many marks)."""
"""Bytes of two chunks' edges that a mark split between them spans."""
_RESPONSE_MARKS = tuple(f'"{kind}"'.encode() for kind in _LIFECYCLE | _TERMINAL)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def usage_object(usage: Usage) -> dict[str, Any]:
    """The gateway's usage of a call in the Responses shape."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


class NativeResponseStream:
    """Watches one natively passed Responses stream (see the module). `request` is the body the
    client sent; `response_id`, `created_at` and `model` name the response only if the stream
    ends before the upstream named it; `previous_response_id`, the stored response the request
    continues, is named by every response the client is shown."""

    def __init__(
        self,
        request: dict[str, Any],
        *,
        response_id: str,
        created_at: int,
        model: str,
        previous_response_id: str | None = None,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._request = request
        self._previous = previous_response_id
        self._fallback = (response_id, created_at, model)
        self._on_done = on_done
        self._response: dict[str, Any] | None = None
        self._items: dict[int, dict[str, Any]] = {}
        self._open: dict[int, bool] = {}  # output index → whether it is still under way
        self._open_part: dict[int, int] = {}  # output index → its content part under way
        self._next = 0
        self._unread: list[bytes] = []  # events relayed, read only if an ending needs them
        self._unsplit: list[bytes] = []  # chunks relayed as they are, split when read
        self._splitter = SseSplitter()
        self.final: dict[str, Any] | None = None

    # --- the stream ----------------------------------------------------------------------------

    async def relay(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`chunks` as they are. They are kept, split only when one may hold the final event
        (read alone: it carries the whole response) and read only when an ending the gateway
        adds needs them (a cut, a failure): most streams end as the upstream ends them, and
        their other events are never decoded here."""
        ended = False
        try:
            async with contextlib.aclosing(chunks):  # type: ignore[type-var]
                if self._previous is not None:
                    async for data in self._renamed(chunks):
                        yield data
                else:
                    tail = b""  # the last bytes relayed: a mark may straddle chunks
                    for_final = False  # an event with a mark is still coming in
                    async for data in chunks:
                        self._unsplit.append(data)
                        seen = tail + data
                        if for_final or _TERMINAL_FOUND(seen):
                            self._split()
                            for_final = self._splitter.holds(_TERMINAL_FOUND)
                        tail = seen[-_MARK_SPAN:]
                        yield data
                    self._split()
            ended = True
        finally:
            if self.final is None and self._on_done is not None:  # told how it ended
                self._catch_up()
                status = "failed" if ended else "cancelled"
                error = {"code": "server_error", "message": "The upstream stream ended early."}
                self._tell(self._ending(status, error=error if ended else None))

    async def _renamed(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Whole events, those carrying the response re-encoded naming the response the request
        continues."""
        splitter = SseSplitter()
        async for data in chunks:
            events = [self._continuing(event) for event in splitter.feed(data)]
            for event in events:
                if _TERMINAL_FOUND(event):
                    self._read(event)  # the final event: it carries the whole response
                else:
                    self._unread.append(event)
            if events:
                yield b"\n\n".join(events) + b"\n\n"
        if (rest := splitter.rest()) is not None:
            self._unread.append(rest)
            yield rest

    def sse_cut(self, usage: Usage) -> bytes:
        """The end of the stream cut at its reservation: the items under way done as
        incomplete, then `response.incomplete` with the usage billed."""
        self._catch_up()
        events = self._started()
        for index in sorted(self._items):
            if self._open.get(index):
                events += self._item_done(index)
        response = self._ending(
            "incomplete", usage=usage_object(usage), incomplete_reason="max_output_tokens"
        )
        events.append(self._event("response.incomplete", response=response))
        return b"".join(encode_event(event) for event in events)

    def sse_error(self, error: UpstreamError) -> bytes:
        """The end of the stream the upstream failed: `response.failed`, in the gateway's
        words."""
        failure = error_object(
            {"type": error.error_type, "code": error.code, "message": error.message}
        )
        self._catch_up()
        events = self._started()
        events.append(
            self._event("response.failed", response=self._ending("failed", error=failure))
        )
        return b"".join(encode_event(event) for event in events)

    # --- reading -------------------------------------------------------------------------------

    def _continuing(self, raw: bytes) -> bytes:
        """An event carrying the response, re-encoded naming the response the request
        continues; any other event as it is."""
        if not any(mark in raw for mark in _RESPONSE_MARKS):
            return raw
        _, payload = event_fields(raw)
        if payload is None:
            return raw
        try:
            event = _decoder.decode(payload)
        except (msgspec.DecodeError, RecursionError):
            return raw
        response = event.get("response") if isinstance(event, dict) else None
        if not isinstance(response, dict) or response.get("previous_response_id") == self._previous:
            return raw
        named = {**event, "response": {**response, "previous_response_id": self._previous}}
        return encode_event(named)[:-2]

    def _split(self) -> None:
        """Splits the chunks relayed into events: a final one is read (it carries the whole
        response), the others are kept unread."""
        unsplit, self._unsplit = self._unsplit, []
        for data in unsplit:
            for event in self._splitter.feed(data):
                if _TERMINAL_FOUND(event):
                    self._read(event)
                else:
                    self._unread.append(event)

    def _catch_up(self) -> None:
        """Reads the events relayed and not read yet, in their order (before the final event,
        the only ones there are)."""
        self._split()
        unread, self._unread = self._unread, []
        for event in unread:
            self._read(event)

    def _read(self, raw: bytes) -> None:
        _, payload = event_fields(raw)
        if payload is None:
            return
        try:
            event = _decoder.decode(payload)
        except (msgspec.DecodeError, RecursionError):
            return
        if not isinstance(event, dict):
            return
        number = event.get("sequence_number")
        if isinstance(number, int) and not isinstance(number, bool) and number >= self._next:
            self._next = number + 1
        kind = event.get("type")
        response = event.get("response")
        if kind in _LIFECYCLE and isinstance(response, dict):
            self._response = response
        elif kind in _TERMINAL and isinstance(response, dict):
            self._tell(response)
        else:
            self._item_event(str(kind), event)

    def _item_event(self, kind: str, event: dict[str, Any]) -> None:
        index = event.get("output_index")
        if not isinstance(index, int) or isinstance(index, bool):
            return
        item = self._items.get(index)
        if kind in ("response.output_item.added", "response.output_item.done"):
            if isinstance(event.get("item"), dict):
                self._items[index] = copy.deepcopy(event["item"])
                self._open[index] = kind.endswith("added")
            return
        if item is None:
            return
        content = item.get("content")
        part_index = event.get("content_index")
        if kind == "response.content_part.added" and isinstance(content, list):
            content.append(copy.deepcopy(_dict(event.get("part"))))
            self._open_part[index] = len(content) - 1
        elif kind == "response.content_part.done":
            self._open_part.pop(index, None)
        elif kind.endswith(".delta") and isinstance(event.get("delta"), str):
            delta = event["delta"]
            if kind == "response.function_call_arguments.delta":
                item["arguments"] = str(item.get("arguments") or "") + delta
            elif isinstance(content, list) and isinstance(part_index, int):
                part = _dict(content[part_index]) if 0 <= part_index < len(content) else {}
                key = "refusal" if kind == "response.refusal.delta" else "text"
                part[key] = str(part.get(key) or "") + delta

    # --- endings -------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._next, **fields}
        self._next += 1
        return event

    def _started(self) -> list[dict[str, Any]]:
        """`response.created`, if the client never got one: an ending needs it first."""
        if self._response is not None:
            return []
        response_id, created_at, model = self._fallback
        self._response = response_object(
            self._request,
            response_id=response_id,
            created_at=created_at,
            model=model,
            status="in_progress",
            output=[],
        )
        return [self._event("response.created", response=self._response)]

    def _item_done(self, index: int) -> list[dict[str, Any]]:
        item = self._items[index]
        where = {"item_id": item.get("id", ""), "output_index": index}
        events = []
        content = item.get("content")
        part = self._open_part.pop(index, None)
        if part is not None and isinstance(content, list) and 0 <= part < len(content):
            done = _dict(content[part])
            if done.get("type") == "output_text":
                text = str(done.get("text") or "")
                events.append(
                    self._event(
                        "response.output_text.done",
                        **where,
                        content_index=part,
                        text=text,
                        logprobs=[],
                    )
                )
            events.append(
                self._event("response.content_part.done", **where, content_index=part, part=done)
            )
        if item.get("type") == "function_call":
            arguments = str(item.get("arguments") or "")
            name = str(item.get("name") or "")
            events.append(
                self._event(
                    "response.function_call_arguments.done", **where, name=name, arguments=arguments
                )
            )
        item["status"] = "incomplete"
        self._open[index] = False
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def _ending(self, status: str, **extra: Any) -> dict[str, Any]:
        """The response as it stands, ending with `status`."""
        if self._response is None:
            response_id, created_at, model = self._fallback
            base = response_object(
                self._request,
                response_id=response_id,
                created_at=created_at,
                model=model,
                status=status,
                output=[],
            )
        else:
            base = copy.deepcopy(self._response)
        output = []
        for index in sorted(self._items):
            item = copy.deepcopy(self._items[index])
            if self._open.get(index):
                item["status"] = "incomplete"
            output.append(item)
        reason = extra.pop("incomplete_reason", None)
        return {
            **base,
            "status": status,
            "output": output,
            "completed_at": None,
            "incomplete_details": {"reason": reason} if reason else None,
            "error": extra.pop("error", None),
            **extra,
        }

    def _tell(self, response: dict[str, Any]) -> None:
        if self.final is None:
            self.final = response
            if self._on_done is not None:
                self._on_done(response)
