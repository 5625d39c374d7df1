"""Anthropic Messages SSE events → OpenAI `chat.completion.chunk` dicts, one event at a time."""

from __future__ import annotations

from typing import Any

from domains.providers.errors import UpstreamError
from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.anthropic_response import (
    classify,
    count,
    finish_reason,
    openai_usage,
    thinking_block,
    usage_of,
)

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
_CACHE_WRITE_KEYS = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def latest_usage(seen: dict[str, Any], raw: dict[str, Any]) -> None:
    """Brings `seen` (Anthropic usage read so far in a stream) up to date with the counts of
    `raw` (a message_start's or a message_delta's usage): the latest value of each wins, the
    cache writes' breakdown (`cache_creation`) included."""
    for key in _USAGE_KEYS:
        value = count(raw, key)
        if value is not None:
            seen[key] = value
    creation = raw.get("cache_creation")
    if isinstance(creation, dict):
        kept = seen.setdefault("cache_creation", {})
        for key in _CACHE_WRITE_KEYS:
            value = count(creation, key)
            if value is not None:
                kept[key] = value


class StreamTranslator:
    """Feed it each upstream event (name and parsed data); send on the chunks it returns.

    Tool calls are numbered in order of appearance (OpenAI's `index`), not by Anthropic's block
    index, which also counts text and thinking blocks. An `error` event raises `UpstreamError`.
    The first call of `answer_tool` (a structured answer, see `anthropic_structured`) streams as
    content: its input_json_delta pieces are content deltas, and it finishes with "stop".

    Thinking streams as `reasoning_content` deltas; when a thinking block ends, one delta
    carries it whole with its signature (`thinking_blocks`, as the whole answer does), and a
    redacted thinking block is such a delta as soon as it starts.
    """

    def __init__(
        self,
        *,
        model: str,
        created: int,
        completion_id: str,
        include_usage: bool,
        answer_tool: str | None = None,
    ):
        self._model = model
        self._created = created
        self._id = completion_id
        self._include_usage = include_usage
        self._started = False
        self._finish_sent = False
        self._raw_usage: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # Anthropic block index → OpenAI tool call index
        self._without_arguments: set[int] = set()  # tool calls no arguments were sent for yet
        self._answer_tool = answer_tool
        self._answer_block: int | None = None  # Anthropic block index of the structured answer
        self._answer_sent = False  # any of its JSON yet
        self._answered = False
        self._thinking: dict[int, dict[str, Any]] = {}  # Anthropic block index → block so far
        self.thinking_chars = 0
        self.usage: Usage | None = None
        self.finished = False
        self.output_chars = 0

    def feed(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event or data.get("type")
        if kind == "message_start":
            message = _dict(data.get("message"))
            self._model = answered_model(message.get("model"), self._model)
            self._count_usage(message.get("usage"))
            return self._start()
        if kind == "content_block_start":
            return self._block_start(data.get("index"), _dict(data.get("content_block")))
        if kind == "content_block_delta":
            return self._block_delta(data.get("index"), _dict(data.get("delta")))
        if kind == "content_block_stop":
            return self._block_stop(data.get("index"))
        if kind == "message_delta":
            self._count_usage(data.get("usage"))
            stop = _dict(data.get("delta")).get("stop_reason")
            return self._finish(stop) if isinstance(stop, str) else []
        if kind == "message_stop":
            return self._stop()
        if kind == "error":
            self._raise(_dict(data.get("error")))
        return []  # ping, and event types added later

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self._include_usage:
            chunk["usage"] = None  # as OpenAI does: only the last chunk carries usage
        return chunk

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _text(self, text: Any) -> list[dict[str, Any]]:
        if not isinstance(text, str) or not text:
            return []
        self.output_chars += len(text)
        return [*self._start(), self._chunk({"content": text})]

    def _arguments(self, tool: int, arguments: str) -> list[dict[str, Any]]:
        self.output_chars += len(arguments)
        self._without_arguments.discard(tool)
        call = {"index": tool, "function": {"arguments": arguments}}
        return [*self._start(), self._chunk({"tool_calls": [call]})]

    def _reasoning(self, text: Any) -> list[dict[str, Any]]:
        if not isinstance(text, str) or not text:
            return []
        self.output_chars += len(text)
        self.thinking_chars += len(text)
        return [*self._start(), self._chunk({"reasoning_content": text})]

    def _block_start(self, index: Any, block: dict[str, Any]) -> list[dict[str, Any]]:
        if block.get("type") == "text":
            return self._text(block.get("text"))
        thought = thinking_block(block)
        if thought is not None and thought["type"] == "redacted_thinking":
            return [*self._start(), self._chunk({"thinking_blocks": [thought]})]
        if thought is not None:
            if isinstance(index, int):
                self._thinking[index] = thought
            return self._reasoning(thought["thinking"])
        if block.get("type") != "tool_use":
            return []  # server tools...
        if self._answer_tool is not None and block.get("name") == self._answer_tool:
            if self._answered or not isinstance(index, int):
                return []  # one answer only
            self._answered, self._answer_block = True, index
            return self._start()
        tool = len(self._tools)
        if isinstance(index, int):
            self._tools[index] = tool
        self._without_arguments.add(tool)
        call_id, name = block.get("id"), block.get("name")
        call = {
            "index": tool,
            "id": call_id if isinstance(call_id, str) else "",
            "type": "function",
            "function": {"name": name if isinstance(name, str) else "", "arguments": ""},
        }
        return [*self._start(), self._chunk({"tool_calls": [call]})]

    def _block_delta(self, index: Any, delta: dict[str, Any]) -> list[dict[str, Any]]:
        kind = delta.get("type")
        if kind == "text_delta":
            return self._text(delta.get("text"))
        thought = self._thinking.get(index) if isinstance(index, int) else None
        if kind == "thinking_delta" and thought is not None:
            text = delta.get("thinking")
            thought["thinking"] += text if isinstance(text, str) else ""
            return self._reasoning(text)
        if kind == "signature_delta" and thought is not None:
            signature = delta.get("signature")
            thought["signature"] += signature if isinstance(signature, str) else ""
            return []
        tool = self._tools.get(index) if isinstance(index, int) else None
        partial = delta.get("partial_json")
        if (
            kind == "input_json_delta"
            and index == self._answer_block
            and self._answer_block is not None
        ):
            self._answer_sent = self._answer_sent or bool(partial)
            return self._text(partial)
        if kind == "input_json_delta" and tool is not None and isinstance(partial, str) and partial:
            return self._arguments(tool, partial)
        return []  # citations...

    def _block_stop(self, index: Any) -> list[dict[str, Any]]:
        thought = self._thinking.pop(index, None) if isinstance(index, int) else None
        if thought is not None:
            return [*self._start(), self._chunk({"thinking_blocks": [thought]})]
        if index == self._answer_block and self._answer_block is not None:
            self._answer_block = None
            return [] if self._answer_sent else self._text("{}")
        tool = self._tools.get(index) if isinstance(index, int) else None
        if tool is not None and tool in self._without_arguments:
            # A call without input streams no JSON at all: send "{}" so `arguments` parses.
            return self._arguments(tool, "{}")
        return []

    def _finish(self, stop: str | None) -> list[dict[str, Any]]:
        if self._finish_sent:
            return []
        self._finish_sent = True
        if stop == "tool_use" and self._answered and not self._tools:
            stop = "end_turn"  # the tool called was the structured answer
        return [*self._start(), self._chunk({}, finish_reason(stop) or "stop")]

    def _stop(self) -> list[dict[str, Any]]:
        if self.finished:
            return []
        self.finished = True
        out = self._finish("end_turn")  # nothing if message_delta already said why
        if self._include_usage:
            usage = self.usage or Usage()
            out.append(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [],
                    "usage": openai_usage(usage, self.thinking_chars),
                }
            )
        return out

    def _count_usage(self, raw: Any) -> None:
        """message_start carries the input counts; message_delta the (cumulative) output count
        and, on recent API versions, input counts again: the latest value of each wins."""
        if not isinstance(raw, dict):
            return
        latest_usage(self._raw_usage, raw)
        self.usage = usage_of(self._raw_usage)

    def _raise(self, error: dict[str, Any]) -> None:
        anthropic_type, message = error.get("type"), error.get("message")
        anthropic_type = anthropic_type if isinstance(anthropic_type, str) else None
        text = message if isinstance(message, str) and message else "The upstream stream failed."
        # an error event has no status of its own: a type it does not name is a server error
        raise UpstreamError(classify(500, anthropic_type, text), text)
