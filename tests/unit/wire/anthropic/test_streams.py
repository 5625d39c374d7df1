"""Messages API streams as OpenAI chunks: text then a tool call, usage, block numbering, cut and
unfinished streams, error events."""

from __future__ import annotations

import json

import pytest

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from tests.unit.wire.anthropic.support import (
    ARGS,
    ARGS_JSON,
    EVENTS,
    assembled_calls,
    json_delta,
    message_end,
    message_start,
    run,
    sse,
    text_delta,
    tool_start,
)


def test_a_stream_with_text_then_a_tool_call() -> None:
    translator, chunks = run(EVENTS)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["id"] == "chatcmpl-1" and chunk["model"] == "claude-x-1" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )
    assert content == "Let me check."
    calls = assembled_calls(chunks)
    assert list(calls) == [0]  # the first tool call, although Anthropic's block 1
    assert calls[0]["id"] == "toolu_9"
    assert calls[0]["name"] == "weather"
    assert json.loads(calls[0]["arguments"]) == ARGS
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [f for f in finishes if f] == ["tool_calls"]
    assert chunks[-2]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 40,
        "total_tokens": 80,
        "prompt_tokens_details": {"cached_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert translator.usage == Usage(
        input_tokens=40, output_tokens=40, cached_tokens=10, cache_write_5m_tokens=5
    )
    assert translator.finished
    assert translator.output_chars == len("Let me check.") + len(ARGS_JSON)


def test_usage_is_known_before_the_end_and_only_sent_when_asked() -> None:
    translator, _ = run(EVENTS[:1], include_usage=False)
    assert translator.usage == Usage(
        input_tokens=40, output_tokens=1, cached_tokens=10, cache_write_5m_tokens=5
    )
    assert not translator.finished
    translator, chunks = run(EVENTS, include_usage=False)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert translator.usage == Usage(
        input_tokens=40, output_tokens=40, cached_tokens=10, cache_write_5m_tokens=5
    )


def test_tool_calls_are_numbered_apart_from_thinking_and_text_blocks() -> None:
    thinking = {"type": "thinking", "thinking": "", "signature": ""}
    events = [
        message_start(),
        sse("content_block_start", index=0, content_block=thinking),
        sse("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"}),
        sse("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s"}),
        sse("content_block_stop", index=0),
        tool_start(1, "toolu_a", "clock"),
        sse("content_block_stop", index=1),
        tool_start(2, "toolu_b", "weather"),
        json_delta(2, '{"city":'),
        json_delta(2, '"Rome"}'),
        sse("content_block_stop", index=2),
        *message_end("tool_use", 12),
    ]
    translator, chunks = run(events)
    calls = assembled_calls(chunks)
    assert calls == {
        0: {"id": "toolu_a", "name": "clock", "arguments": "{}"},  # no input: "{}"
        1: {"id": "toolu_b", "name": "weather", "arguments": '{"city":"Rome"}'},
    }
    # the thinking streams as reasoning_content, then whole with its signature
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    assert [d["reasoning_content"] for d in deltas if "reasoning_content" in d] == ["hmm"]
    assert [d["thinking_blocks"] for d in deltas if "thinking_blocks" in d] == [
        [{"type": "thinking", "thinking": "hmm", "signature": "s"}]
    ]
    assert all("content" not in d or d["content"] == "" for d in deltas)
    assert translator.thinking_chars == 3
    assert chunks[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1}


def test_a_stream_cut_by_max_tokens() -> None:
    events = [message_start(), text_delta(0, "Once upon"), *message_end("max_tokens", 3)]
    _, chunks = run(events, include_usage=False)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_message_stop_without_a_stop_reason_still_finishes() -> None:
    _, chunks = run([message_start(), text_delta(0, "hi"), sse("message_stop")])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("error_type", "condition", "status", "code"),
    [
        ("overloaded_error", Condition.OVERLOADED, 503, "upstream_overloaded"),
        ("rate_limit_error", Condition.RATE_LIMITED, 429, "rate_limit_exceeded"),
        ("api_error", Condition.SERVER_ERROR, 502, "upstream_server_error"),
        ("odd", Condition.SERVER_ERROR, 502, "upstream_server_error"),
    ],
)
def test_an_error_event_raises(
    error_type: str, condition: Condition, status: int, code: str
) -> None:
    translator, _ = run([message_start(), text_delta(0, "par")])
    with pytest.raises(UpstreamError) as caught:
        translator.feed(
            "error", {"type": "error", "error": {"type": error_type, "message": "Boom"}}
        )
    assert caught.value.condition is condition
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message == "Boom"
