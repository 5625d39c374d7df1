"""OpenAI `chat.completion.chunk` stream → legacy `text_completion` stream, one chunk at a time;
and the end of a native `text_completion` stream cut at its reservation.

Each chat chunk's text (`delta.content`) becomes a chunk of `choices[].text`, with the choice's
`finish_reason` mapped (`finish_reason`); a chunk with neither text nor an ending (the role-only
first one) is left out; the usage chunk becomes the completion's usage chunk; an error event and
`[DONE]` pass as they are (both dialects share them). A stream cut at its reservation ends, like
every completions stream, with its choices finished for `length`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from application.providers.stream_relay import CutEnding
from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from interfaces.http.openai.translate_completions import completion_usage, finish_reason

_decoder = msgspec.json.Decoder()


def _frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(chunk) + b"\n\n"


class ChatChunksToCompletions:
    """Feed it each parsed chat chunk; send on the `text_completion` chunks it returns."""

    def __init__(self, *, completion_id: str, upstream: str, include_usage: bool) -> None:
        self._id = completion_id
        self._upstream = upstream
        self._model: str | None = None
        self._created = int(time.time())
        self._include_usage = include_usage

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._model is None:  # the model that answered, as the first chunk names it
            self._model = answered_model(chunk.get("model"), self._upstream)
            created = chunk.get("created")
            if isinstance(created, int) and not isinstance(created, bool):
                self._created = created
        out: list[dict[str, Any]] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            text = delta.get("content")
            text = text if isinstance(text, str) else ""
            finish = choice.get("finish_reason")
            if not text and finish is None:
                continue
            index = choice.get("index")
            entry = {
                "text": text,
                "index": index if isinstance(index, int) and not isinstance(index, bool) else 0,
                "logprobs": None,
                "finish_reason": None if finish is None else finish_reason(finish),
            }
            out.append(self._chunk([entry]))
        usage = chunk.get("usage")
        if isinstance(usage, dict) and not choices:
            out.append(self._chunk([], completion_usage(usage)))
        return out

    def _chunk(
        self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "text_completion",
            "created": self._created,
            "choices": choices,
            "model": self._model or self._upstream,
        }
        if self._include_usage:
            chunk["usage"] = usage
        return chunk


async def chat_sse_to_completions(
    chunks: AsyncIterator[bytes], translator: ChatChunksToCompletions
) -> AsyncIterator[bytes]:
    """The pipeline's chat SSE → `text_completion` SSE, as the chunks arrive."""
    splitter = SseSplitter()
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for data in chunks:
            out = b""
            for event in splitter.feed(data):
                _, payload = event_fields(event)
                if payload is None:
                    continue
                if payload == b"[DONE]":
                    out += b"data: [DONE]\n\n"
                    continue
                try:
                    parsed = _decoder.decode(payload)
                except (msgspec.DecodeError, RecursionError):
                    continue
                if not isinstance(parsed, dict):
                    continue
                if parsed.get("error") is not None:  # the same error event in both dialects
                    out += b"data: " + payload + b"\n\n"
                    continue
                out += b"".join(_frame(chunk) for chunk in translator.feed(parsed))
            if out:
                yield out


def completions_sse_cut(
    completion_id: str, model: str, choices: int, include_usage: bool
) -> CutEnding:
    """The end of a natively passed completions stream cut at its reservation: every choice
    finished for its `length`, the usage chunk if the client asked for usage, and `[DONE]`."""

    def ending(usage: Usage) -> bytes:
        base: dict[str, Any] = {
            "id": completion_id,
            "object": "text_completion",
            "created": int(time.time()),
        }
        finished = [
            {"text": "", "index": index, "logprobs": None, "finish_reason": "length"}
            for index in range(choices)
        ]
        out = _frame({**base, "choices": finished, "model": model})
        if include_usage:
            counts = {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
            }
            out += _frame({**base, "choices": [], "model": model, "usage": counts})
        return out + b"data: [DONE]\n\n"

    return ending
