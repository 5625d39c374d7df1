"""Reading the relayed OpenAI stream for the WebSocket: the deltas, however the bytes are cut,
the finish reason, an upstream error, and the reply the deltas add up to."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from interfaces.ws.stream_reader import StreamReader


def sse(chunk: dict[str, Any] | str) -> bytes:
    data = chunk if isinstance(chunk, str) else json.dumps(chunk)
    return f"data: {data}\n\n".encode()


def choice(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


STREAM = b"".join(
    [
        sse(choice({"role": "assistant", "content": ""})),
        sse(choice({"content": "Hello"})),
        sse(choice({"content": " wörld"})),
        sse(choice({"content": "other choice"}, index=1)),
        sse(choice({}, "stop")),
        sse({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}),
        sse("[DONE]"),
    ]
)


def read(cuts: list[int]) -> tuple[StreamReader, list[dict[str, Any]]]:
    reader, deltas, start = StreamReader(), [], 0
    for end in [*sorted(cuts), len(STREAM)]:
        deltas.extend(reader.feed(STREAM[start:end]))
        start = end
    return reader, deltas


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_deltas_are_the_same_however_the_bytes_are_cut(cuts: list[int]) -> None:
    reader, deltas = read(cuts)
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "Hello"},
        {"content": " wörld"},
    ]
    assert reader.finish_reason == "stop"
    assert reader.error is None
    assert reader.reply.message() == {"role": "assistant", "content": "Hello wörld"}


def test_tool_call_pieces_add_up_to_whole_calls() -> None:
    reader = StreamReader()
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "look"}}
    reader.feed(sse(choice({"role": "assistant", "content": None, "tool_calls": [first]})))
    for piece in ('{"q"', ': "cats"}'):
        reader.feed(sse(choice({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})))
    reader.feed(sse(choice({}, "tool_calls")))
    assert reader.reply.message() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "look", "arguments": '{"q": "cats"}'},
            }
        ],
    }
    assert reader.finish_reason == "tool_calls"


def test_an_upstream_error_mid_stream_is_kept() -> None:
    reader = StreamReader()
    error = {"message": "boom", "type": "upstream_error", "param": None, "code": "upstream_error"}
    deltas = reader.feed(sse(choice({"content": "par"})) + sse({"error": error}) + b": comment\n\n")
    assert deltas == [{"content": "par"}]
    assert reader.error == error
    assert not reader.reply.empty


def test_garbage_is_skipped() -> None:
    reader = StreamReader()
    assert reader.feed(b"data: {not json\n\ndata: [1]\n\ndata: " + b"[" * 5000 + b"\n\n") == []
    assert reader.reply.empty
