"""What the Anthropic front door's tests share: a Messages body built, translated or refused;
an OpenAI completion, and OpenAI chunks built and translated into Anthropic events."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from interfaces.http.anthropic.translate_request import messages_to_chat
from interfaces.http.anthropic.translate_stream import ChatChunksToEvents

PNG = base64.b64encode(b"\x89PNG fake").decode()


def body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-x", "max_tokens": 256, "messages": messages, **extra}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image_b64(media_type: str = "image/png", data: str = PNG) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def refused(request: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        messages_to_chat(request)
    return caught.value


TOOLS = [{"name": "weather", "input_schema": {"type": "object"}}]


# --- chat_to_message ---------------------------------------------------------------------------


def completion(
    message: dict[str, Any], finish: str | None = "stop", **extra: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-x-2025",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 30},
        },
        **extra,
    }


# --- ChatChunksToEvents ------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-x",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def piece(arguments: str, **first: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"index": 0, "function": {"arguments": arguments}}
    if first:
        call.update(id=first["id"], type="function")
        call["function"]["name"] = first["name"]
    return chunk({"tool_calls": [call]})


USAGE_CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "gpt-x",
    "choices": [],
    "usage": {
        "prompt_tokens": 50,
        "completion_tokens": 12,
        "total_tokens": 62,
        "prompt_tokens_details": {"cached_tokens": 8},
    },
}

REALISTIC = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Let me "}),
    chunk({"content": "check the "}),
    chunk({"content": "weather."}),
    piece("", id="call_abc", name="weather"),
    piece('{"city": '),
    piece('"Paris", "days"'),
    piece(": 3}"),
    chunk({}, "tool_calls"),
    USAGE_CHUNK,
]

EXPECTED_NAMES = [
    "message_start",
    "content_block_start",
    "ping",
    *["content_block_delta"] * 3,
    "content_block_stop",
    "content_block_start",
    *["content_block_delta"] * 3,
    "content_block_stop",
    "message_delta",
    "message_stop",
]


def translate_stream(chunks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    translator = ChatChunksToEvents(model="gpt-x", message_id="msg_req1")
    events = [event for c in chunks for event in translator.feed(c)]
    return events + translator.finish()
