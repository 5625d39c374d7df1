"""Gemini streams as OpenAI chunks: text then a function call, usage, tool call indexes, blocked
prompts and error events."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage
from tests.unit.wire.gemini.support import deltas, translator


def test_a_stream_of_text_then_a_function_call() -> None:
    stream = translator()
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me "}]}}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "check."}]}}]},
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}}}],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": 9,
                "thoughtsTokenCount": 3,
            },
        },
    ]
    chunks = [chunk for event in events for chunk in stream.feed(event)]
    assert stream.finished is False
    chunks += stream.finish()
    assert stream.finished is True
    assert stream.finish() == []
    assert all(
        chunk["id"] == "chatcmpl-s" and chunk["object"] == "chat.completion.chunk"
        for chunk in chunks
    )
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "Let me check."
    calls = [call for d in deltas(chunks) for call in d.get("tool_calls", [])]
    assert len(calls) == 1
    assert calls[0]["index"] == 0
    assert re.fullmatch(r"call_[0-9a-f]{24}", calls[0]["id"])
    assert calls[0]["function"] == {"name": "weather", "arguments": '{"city":"Oslo"}'}
    finishes = [
        c["finish_reason"] for chunk in chunks for c in chunk["choices"] if c["finish_reason"]
    ]
    assert finishes == ["tool_calls"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 12
    assert chunks[-1]["usage"]["completion_tokens"] == 12
    assert stream.usage == Usage(
        input_tokens=12, output_tokens=12, cached_tokens=0, reasoning_tokens=3
    )
    assert stream.output_chars == len("Let me check.") + len('{"city":"Oslo"}')


def test_a_stream_without_usage_asked_and_a_length_finish() -> None:
    stream = translator(include_usage=False)
    chunks = stream.feed(
        {"candidates": [{"content": {"parts": [{"text": "abc"}]}, "finishReason": "MAX_TOKENS"}]}
    )
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, "length"]
    assert stream.finish() == []
    assert stream.finished
    assert stream.usage is None


def test_tool_call_indexes_count_across_the_stream() -> None:
    stream = translator()
    call = {"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}}
    chunks = stream.feed({"candidates": [call]}) + stream.feed({"candidates": [call]})
    indexes = [call["index"] for d in deltas(chunks) for call in d.get("tool_calls", [])]
    assert indexes == [0, 1]


def test_a_blocked_prompt_in_a_stream() -> None:
    chunks = translator().feed({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "content_filter"]


def test_an_error_event_raises_upstream_error() -> None:
    event = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    with pytest.raises(UpstreamError) as caught:
        translator().feed(event)
    assert caught.value.status == 503
    assert caught.value.message == "The model is overloaded."
