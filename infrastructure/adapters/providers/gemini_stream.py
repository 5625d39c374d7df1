"""The Gemini stream translator: one parsed `streamGenerateContent?alt=sse` event in, the OpenAI
`chat.completion.chunk`s to send out. Pure: no I/O; junk in never raises anything unexpected.

Public names are re-exported by `gemini_wire`; import them from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.gemini_answer import (
    blocked,
    call_id,
    candidate_index,
    candidate_parts,
    candidate_thoughts,
    finish_reason,
    openai_usage,
)
from infrastructure.adapters.providers.gemini_errors import stream_error


class StreamTranslator:
    """Turns the events of one Gemini stream into OpenAI chunks, keeping the tally. Thought
    summaries stream as `reasoning_content` deltas."""

    def __init__(
        self, *, model: str, created: int, completion_id: str, include_usage: bool
    ) -> None:
        self.model = model
        self.created = created
        self.completion_id = completion_id
        self.include_usage = include_usage
        self.usage: Usage | None = None
        self.finished = False
        self.output_chars = 0
        self._usage_body: dict[str, Any] | None = None
        self._started: set[int] = set()
        self._ended: set[int] = set()
        self._with_calls: set[int] = set()
        self._calls = 0

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }

    def _delta(
        self, index: int, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._chunk([choice])

    def _start(self, index: int) -> list[dict[str, Any]]:
        if index in self._started:
            return []
        self._started.add(index)
        return [self._delta(index, {"role": "assistant", "content": ""})]

    def _end(self, index: int, reason: str | None) -> list[dict[str, Any]]:
        if reason is None or index in self._ended:
            return []
        self._ended.add(index)
        if reason == "stop" and index in self._with_calls:
            reason = "tool_calls"
        return [self._delta(index, {}, reason)]

    def _candidate(self, index: int, candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self._start(index)
        thoughts = candidate_thoughts(candidate)
        if thoughts:
            self.output_chars += len(thoughts)
            out.append(self._delta(index, {"reasoning_content": thoughts}))
        texts, calls = candidate_parts(candidate)
        text = "".join(texts)
        if text:
            self.output_chars += len(text)
            out.append(self._delta(index, {"content": text}))
        for name, arguments in calls:
            call = {
                "index": self._calls,
                "id": call_id(self.completion_id, self._calls),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            self._calls += 1
            self._with_calls.add(index)
            self.output_chars += len(arguments)
            out.append(self._delta(index, {"tool_calls": [call]}))
        reason = candidate.get("finishReason")
        return out + self._end(index, finish_reason(reason if isinstance(reason, str) else None))

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks for one parsed SSE `data:` object; an error event raises UpstreamError."""
        if not isinstance(event, Mapping):
            return []
        if event.get("error") is not None:
            raise stream_error(event["error"])
        self.model = answered_model(event.get("modelVersion"), self.model)
        if isinstance(event.get("usageMetadata"), Mapping):
            self._usage_body, self.usage = openai_usage(event["usageMetadata"])
        out: list[dict[str, Any]] = []
        candidates = event.get("candidates")
        candidates = candidates if isinstance(candidates, list) else []
        for candidate in candidates:
            if isinstance(candidate, Mapping):
                out += self._candidate(candidate_index(candidate) or 0, candidate)
        if not candidates and blocked(event):
            out += self._start(0) + self._end(0, "content_filter")
        return out

    def finish(self) -> list[dict[str, Any]]:
        """At the end of the upstream stream: the usage-only chunk if the client asked for it."""
        if self.finished:
            return []
        self.finished = True
        if not self.include_usage:
            return []
        return [self._chunk([], usage=self._usage_body or openai_usage(None)[0])]
