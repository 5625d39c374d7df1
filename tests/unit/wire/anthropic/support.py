"""What the Anthropic wire tests share: a request translated or refused, messages built, an
answer, and stream events built and translated."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_wire import (
    StreamTranslator,
    chat_request,
)

PNG = base64.b64encode(b"\x89PNG fake").decode()


def translate(body: dict[str, Any], *, stream: bool = False) -> dict[str, Any]:
    return chat_request(body, "claude-x-1", max_tokens_default=4096, stream=stream)


def refused(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        translate(body)
    return caught.value


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --- chat_response / finish_reason -------------------------------------------------------------

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-x-1",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Checking "},
        {"type": "text", "text": "now."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 20,
        "output_tokens": 30,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 5,
    },
}


# --- StreamTranslator --------------------------------------------------------------------------

ARGS = {"city": "Paris", "days": [1, 2], "units": "metric"}
ARGS_JSON = json.dumps(ARGS)


def sse(kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **data}


def text_delta(index: int, text: str) -> tuple[str, dict[str, Any]]:
    return sse("content_block_delta", index=index, delta={"type": "text_delta", "text": text})


def json_delta(index: int, partial: str) -> tuple[str, dict[str, Any]]:
    return sse(
        "content_block_delta",
        index=index,
        delta={"type": "input_json_delta", "partial_json": partial},
    )


def tool_start(index: int, tool_id: str, name: str) -> tuple[str, dict[str, Any]]:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return sse("content_block_start", index=index, content_block=block)


def message_start(**usage: int) -> tuple[str, dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-x-1",
        "stop_reason": None,
        "usage": {"input_tokens": 25, "output_tokens": 1, **usage},
    }
    return sse("message_start", message=message)


def message_end(stop: str, output: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        sse(
            "message_delta",
            delta={"stop_reason": stop, "stop_sequence": None},
            usage={"output_tokens": output},
        ),
        sse("message_stop"),
    ]


THIRDS = [ARGS_JSON[:7], ARGS_JSON[7:20], ARGS_JSON[20:]]
EVENTS = [
    message_start(cache_read_input_tokens=10, cache_creation_input_tokens=5),
    sse("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    sse("ping"),
    text_delta(0, "Let me "),
    text_delta(0, "check."),
    sse("content_block_stop", index=0),
    tool_start(1, "toolu_9", "weather"),
    json_delta(1, ""),
    *(json_delta(1, third) for third in THIRDS),
    sse("content_block_stop", index=1),
    *message_end("tool_use", 40),
]


def run(
    events: list[tuple[str, dict[str, Any]]], *, include_usage: bool = True
) -> tuple[StreamTranslator, list[dict[str, Any]]]:
    translator = StreamTranslator(
        model="claude-sonnet",
        created=1700000000,
        completion_id="chatcmpl-1",
        include_usage=include_usage,
    )
    chunks = [chunk for name, data in events for chunk in translator.feed(name, data)]
    return translator, chunks


def assembled_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for piece in choice["delta"].get("tool_calls", ()):
                call = calls.setdefault(piece["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] += piece.get("id", "")
                call["name"] += piece.get("function", {}).get("name", "")
                call["arguments"] += piece.get("function", {}).get("arguments", "")
    return calls
