"""What the Responses front door's tests share: Responses bodies and items built, translated or
refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from httpx_sse import ServerSentEvent

from domains.providers.errors import InvalidRequest
from interfaces.http.responses.translate_request import responses_to_chat

PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()
PDF_DATA = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 fake").decode()
WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}


def body(input_: Any = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-x", "input": input_, **extra}


def message(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content, **extra}


def input_text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def function_call(
    call_id: str, name: str = "weather", arguments: str = '{"city":"Paris"}'
) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def call_output(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def chat_call(
    call_id: str, name: str = "weather", arguments: str = '{"city":"Paris"}'
) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def refused(request: Any, **options: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat(request, **options)
    return caught.value


# --- chat chunks and the Responses event sequence ----------------------------------------------

REQUEST: dict[str, Any] = {"model": "gpt-x", "input": "Weather in Paris?", "tools": [WEATHER]}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-x-2025",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def piece(arguments: str, index: int = 0, **first: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if first:
        call.update(id=first["id"], type="function")
        call["function"]["name"] = first["name"]
    return chunk({"tool_calls": [call]})


USAGE_CHUNK: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "gpt-x-2025",
    "choices": [],
    "usage": {
        "prompt_tokens": 50,
        "completion_tokens": 12,
        "total_tokens": 62,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 4},
    },
}

REALISTIC = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Let me "}),
    chunk({"content": "check the "}),
    chunk({"content": "weather."}),
    piece("", id="call_abc", name="weather"),
    piece('{"city": '),
    piece('"Paris"}'),
    chunk({}, "tool_calls"),
    USAGE_CHUNK,
]

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def assert_valid_sequence(events: list[dict[str, Any]]) -> None:
    """The Responses stream's grammar: numbered from 0; created, in_progress first; each
    item added before its content and done after it, one item at a time; one terminal event,
    last, whose output is the items as they were done."""
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    kinds = [event["type"] for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] in TERMINAL
    assert sum(kind in TERMINAL for kind in kinds) == 1
    response_id = events[0]["response"]["id"]
    open_item: dict[str, Any] | None = None
    open_part: int | None = None
    done: list[dict[str, Any]] = []
    for event in events[2:-1]:
        kind = event["type"]
        if kind == "response.output_item.added":
            assert open_item is None
            assert event["output_index"] == len(done)
            open_item = event["item"]
            assert open_item["status"] == "in_progress"
        elif kind == "response.output_item.done":
            assert open_item is not None
            assert open_part is None
            assert event["item"]["id"] == open_item["id"]
            assert event["output_index"] == len(done)
            done.append(event["item"])
            open_item = None
        elif kind == "response.content_part.added":
            assert open_item is not None
            assert open_part is None
            open_part = event["content_index"]
        elif kind == "response.content_part.done":
            assert open_part == event["content_index"]
            open_part = None
        else:
            assert open_item is not None
            assert event["item_id"] == open_item["id"]
            if kind.startswith(("response.output_text", "response.refusal")):
                assert open_part == event["content_index"]
    last = events[-1]["response"]
    assert last["id"] == response_id
    if events[-1]["type"] != "response.failed":
        assert open_item is None
        assert last["output"] == done


def sse_events(sse: bytes) -> list[ServerSentEvent]:
    """A stream's bytes as the Server-Sent Events a client reads."""
    events = []
    for block in sse.decode().split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append(ServerSentEvent(event=name, data="\n".join(data)))
    return events
