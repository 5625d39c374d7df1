"""Reading the OpenAI chat.completion.chunk SSE the gateway relays: the deltas to pass on, the
finish reason, an error the upstream ended with, and the reply they add up to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from infrastructure.adapters.providers.sse import SseSplitter, data_values


class Reply:
    """The assistant message a stream of deltas adds up to (text, refusal and tool calls)."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}

    @property
    def empty(self) -> bool:
        return not (self._content or self._refusal or self._calls)

    def add(self, delta: dict[str, Any]) -> None:
        content, refusal = delta.get("content"), delta.get("refusal")
        if isinstance(content, str) and content:
            self._content.append(content)
        if isinstance(refusal, str) and refusal:
            self._refusal.append(refusal)
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                self._add_call(call)

    def _add_call(self, part: dict[str, Any]) -> None:
        index = part.get("index")
        if not isinstance(index, int):
            index = len(self._calls)
        call = self._calls.setdefault(
            index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        for key in ("id", "type"):
            if isinstance(part.get(key), str):
                call[key] = part[key]
        function = part.get("function")
        if isinstance(function, dict):
            for key in ("name", "arguments"):
                if isinstance(function.get(key), str):
                    call["function"][key] += function[key]

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self._content) if self._content else None,
        }
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if self._calls:
            message["tool_calls"] = [self._calls[index] for index in sorted(self._calls)]
        return message


class StreamReader:
    def __init__(self) -> None:
        self._splitter = SseSplitter()
        self.finish_reason: str | None = None
        self.error: dict[str, Any] | None = None
        self.reply = Reply()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The non-empty deltas of the first choice in `data`, in order."""
        deltas: list[dict[str, Any]] = []
        for chunk in data_values(self._splitter, data):
            if isinstance(chunk, dict):
                self._chunk(chunk, deltas)
        return deltas

    def _chunk(self, chunk: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        error = chunk.get("error")
        if isinstance(error, dict):
            self.error = error
            return
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta:
                deltas.append(delta)
                self.reply.add(delta)
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]


async def close_stream(chunks: AsyncIterator[bytes]) -> None:
    """Ends the relay of a stream (and so its upstream call), read to its end or not."""
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
