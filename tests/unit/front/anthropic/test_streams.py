"""OpenAI chunks as Anthropic stream events: the exact sequence, when message_delta comes, blocks
opened and closed, and error chunks."""

from __future__ import annotations

import json

from interfaces.http.anthropic.translate_stream import ChatChunksToEvents, encode_event
from tests.unit.front.anthropic.support import (
    EXPECTED_NAMES,
    REALISTIC,
    USAGE_CHUNK,
    chunk,
    piece,
    translate_stream,
)


def test_a_realistic_stream_gives_anthropics_exact_sequence() -> None:
    translator = ChatChunksToEvents(model="gpt-x", message_id="msg_req1")
    events = [event for c in REALISTIC for event in translator.feed(c)]
    assert translator.done
    assert translator.finish() == []
    assert [name for name, _ in events] == EXPECTED_NAMES
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["id"] == "msg_req1"
    assert start["model"] == "gpt-x"
    assert start["content"] == []
    assert start["stop_reason"] is None
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert "".join(d["delta"]["text"] for d in deltas if d["index"] == 0) == (
        "Let me check the weather."
    )
    arguments = "".join(d["delta"]["partial_json"] for d in deltas if d["index"] == 1)
    assert json.loads(arguments) == {"city": "Paris", "days": 3}
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[7][1] == {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "call_abc", "name": "weather", "input": {}},
    }
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 42,
            "output_tokens": 12,
            "cache_read_input_tokens": 8,
            "cache_creation_input_tokens": 0,
        },
    }


def test_message_delta_waits_for_usage_or_finish() -> None:
    translator = ChatChunksToEvents(model="m", message_id="msg_1")
    translator.feed(chunk({"content": "hi"}))
    at_finish = translator.feed(chunk({}, "length"))
    assert [name for name, _ in at_finish] == ["content_block_stop"]
    assert not translator.done
    tail = translator.finish()
    assert [name for name, _ in tail] == ["message_delta", "message_stop"]
    assert tail[0][1]["delta"]["stop_reason"] == "max_tokens"
    assert tail[0][1]["usage"] == {"output_tokens": 0}
    assert translator.done
    assert translator.finish() == []
    assert translator.feed(USAGE_CHUNK) == []


def test_usage_on_the_finish_chunk_ends_the_message_at_once() -> None:
    last = {**chunk({}, "stop"), "usage": USAGE_CHUNK["usage"]}
    events = translate_stream([chunk({"content": "hi"}), last])
    assert [name for name, _ in events][-3:] == [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[-2][1]["usage"]["output_tokens"] == 12


def test_an_empty_stream_still_makes_a_valid_message() -> None:
    events = translate_stream([])
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]


def test_text_after_a_tool_call_opens_a_new_block_and_parallel_calls_each_have_one() -> None:
    second = {
        "tool_calls": [
            {
                "index": 1,
                "id": "call_2",
                "type": "function",
                "function": {"name": "g", "arguments": "{}"},
            }
        ]
    }
    events = translate_stream(
        [
            piece('{"a":1}', id="call_1", name="f"),
            chunk(second),
            piece("late piece of call_1"),  # its block is closed: dropped
            chunk({"content": "done"}),
            chunk({}, "stop"),
        ]
    )
    starts = [data for name, data in events if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "tool_use"),
        (1, "tool_use"),
        (2, "text"),
    ]
    assert [s["content_block"].get("id") for s in starts[:2]] == ["call_1", "call_2"]
    partials = [d["delta"].get("partial_json") for n, d in events if n == "content_block_delta"]
    assert partials == ['{"a":1}', "{}", None]


def test_an_error_chunk_becomes_an_error_event_and_ends_the_stream() -> None:
    translator = ChatChunksToEvents(model="m", message_id="msg_1")
    translator.feed(chunk({"content": "hi"}))
    error = {"message": "upstream overloaded", "type": "service_unavailable", "param": None}
    assert translator.feed({"error": error}) == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "upstream overloaded"},
            },
        )
    ]
    assert translator.done
    assert translator.feed(chunk({"content": "more"})) == []
    assert translator.finish() == []
    _, data = ChatChunksToEvents(model="m", message_id="x").feed({"error": {"type": "timeout"}})[0]
    assert data["error"]["type"] == "api_error"
    assert data["error"]["message"]


def test_encode_event() -> None:
    assert encode_event("ping", {"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
    encoded = encode_event("content_block_delta", {"text": "é\n"})
    assert encoded == 'event: content_block_delta\ndata: {"text":"é\\n"}\n\n'.encode()
