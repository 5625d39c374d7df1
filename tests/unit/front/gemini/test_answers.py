"""OpenAI answers → Gemini's, and the official google-genai SDK reading what the front door
writes: whole responses, streams (SSE and the JSON array), stream errors and cuts, and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from interfaces.http.gemini.translate_response import chat_to_gemini, google_error
from interfaces.http.gemini.translate_stream import (
    ChatChunksToGemini,
    chat_sse_to_gemini,
    sse_error,
    sse_to_json_array,
    stream_cut,
)

USAGE = {
    "prompt_tokens": 20,
    "completion_tokens": 12,
    "prompt_tokens_details": {"cached_tokens": 5},
    "completion_tokens_details": {"reasoning_tokens": 4},
}


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-x-2025",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {
        "model": "gpt-x-2025",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def test_a_completion_becomes_a_response() -> None:
    message = {
        "role": "assistant",
        "content": "Let me look.",
        "reasoning_content": "thinking it over",
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "search", "arguments": '{"q": "Lyon"}'},
            },
            {
                "id": "call_8",
                "type": "function",
                "function": {"name": "odd", "arguments": "not json"},
            },
        ],
    }
    response = chat_to_gemini(
        completion(message, "tool_calls"), model="gpt-x-2025", response_id="r", thoughts=True
    )
    assert response == {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "thinking it over", "thought": True},
                        {"text": "Let me look."},
                        {"functionCall": {"id": "call_9", "name": "search", "args": {"q": "Lyon"}}},
                        {
                            "functionCall": {
                                "id": "call_8",
                                "name": "odd",
                                "args": {"_raw": "not json"},
                            }
                        },
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 20,
            "candidatesTokenCount": 8,
            "totalTokenCount": 32,
            "cachedContentTokenCount": 5,
            "thoughtsTokenCount": 4,
        },
        "modelVersion": "gpt-x-2025",
        "responseId": "chatcmpl-1",
    }
    plain = chat_to_gemini(completion(message), model="m", response_id="r")
    assert [p for p in plain["candidates"][0]["content"]["parts"] if p.get("thought")] == []


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "STOP"),
        ("length", "MAX_TOKENS"),
        ("content_filter", "SAFETY"),
        ("tool_calls", "STOP"),
        ("odd", "OTHER"),
        (None, "STOP"),
    ],
)
def test_finish_reasons(finish: Any, reason: str) -> None:
    response = chat_to_gemini(completion({"content": "x"}, finish), model="m", response_id="r")
    assert response["candidates"][0]["finishReason"] == reason


REALISTIC = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Let me "}),
    chunk({"content": "check."}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Par'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'is", "days": 3}'}}]}),
    chunk({}, "tool_calls"),
    {"model": "gpt-x-2025", "choices": [], "usage": USAGE},
]


def test_a_stream_ends_with_its_calls_finish_and_usage() -> None:
    translator = ChatChunksToGemini(model="m", response_id="r")
    out = [response for c in REALISTIC for response in translator.feed(c)] + translator.finish()
    texts = [r["candidates"][0]["content"]["parts"][0]["text"] for r in out[:-1]]
    assert texts == ["Let me ", "check."]
    assert out[-1] == {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {
                            "functionCall": {
                                "id": "call_abc",
                                "name": "weather",
                                "args": {"city": "Paris", "days": 3},
                            }
                        }
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 20,
            "candidatesTokenCount": 8,
            "totalTokenCount": 32,
            "cachedContentTokenCount": 5,
            "thoughtsTokenCount": 4,
        },
        "modelVersion": "gpt-x-2025",
        "responseId": "r",
    }
    assert all(r["modelVersion"] == "gpt-x-2025" for r in out)


def test_a_stream_of_several_candidates_and_a_cut_without_usage() -> None:
    translator = ChatChunksToGemini(model="m", response_id="r")
    out = translator.feed(chunk({"content": "a"}, index=0)) + translator.feed(
        chunk({"content": "b"}, "length", index=1)
    )
    out += translator.finish()
    assert [r["candidates"][0]["index"] for r in out[:2]] == [0, 1]
    assert out[-1]["candidates"] == [
        {
            "content": {"parts": [{"text": ""}], "role": "model"},
            "finishReason": "MAX_TOKENS",
            "index": 1,
        }
    ]
    assert "usageMetadata" not in out[-1]


def _sse(*chunks: dict[str, Any]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for c in chunks:
            yield b"data: " + json.dumps(c).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    return gen()


async def _all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in chunks])


def _sdk(handle: Any) -> genai.Client:
    return genai.Client(
        api_key="fr-test",
        http_options=types.HttpOptions(
            base_url="http://gateway.test",
            retry_options=types.HttpRetryOptions(attempts=1),
            client_args={"transport": httpx.MockTransport(handle)},
        ),
    )


def test_the_sdk_reads_a_translated_response_and_stream() -> None:
    body = json.dumps(
        chat_to_gemini(completion({"content": "Hello there"}), model="gpt-x", response_id="r")
    ).encode()
    stream = asyncio.run(_all(chat_sse_to_gemini(_sse(*REALISTIC), "m", "r")))
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith(":streamGenerateContent"):
            return httpx.Response(
                200, content=stream, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    client = _sdk(handle)
    reply = client.models.generate_content(model="gpt-x", contents="hi")
    assert reply.text == "Hello there"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata.thoughts_token_count == 4
    assert reply.response_id == "chatcmpl-1"
    chunks = list(client.models.generate_content_stream(model="gpt-x", contents="hi"))
    assert "".join(c.text or "" for c in chunks[:-1]) == "Let me check."
    last = chunks[-1]
    assert last.function_calls is not None
    assert (last.function_calls[0].name, last.function_calls[0].args) == (
        "weather",
        {"city": "Paris", "days": 3},
    )
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert seen[0].headers["x-goog-api-key"] == "fr-test"


def test_the_sdk_raises_google_errors_whole_and_mid_stream() -> None:
    upstream = UpstreamError(Condition.RATE_LIMITED, "slow down", retry_after="7")
    events = (
        b'data: {"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}]}\r\n\r\n'
        + sse_error(upstream)
    )

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":streamGenerateContent"):
            return httpx.Response(
                200, content=events, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(429, json=google_error(429, "Budget exceeded", "30"))

    client = _sdk(handle)
    with pytest.raises(errors.ClientError) as refused:
        client.models.generate_content(model="m", contents="hi")
    assert (refused.value.code, refused.value.status, refused.value.message) == (
        429,
        "RESOURCE_EXHAUSTED",
        "Budget exceeded",
    )
    assert refused.value.details["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    ]
    with pytest.raises(errors.APIError) as failed:
        list(client.models.generate_content_stream(model="m", contents="hi"))
    assert (failed.value.code, failed.value.status) == (429, "RESOURCE_EXHAUSTED")


def test_a_cut_stream_ends_with_max_tokens_and_the_billed_usage() -> None:
    ending = stream_cut("gemini-x", "r", 2)(
        Usage(input_tokens=10, output_tokens=300, cached_tokens=2, reasoning_tokens=40)
    )
    assert ending.endswith(b"\r\n\r\n")
    event = json.loads(ending.removeprefix(b"data: "))
    assert [c["finishReason"] for c in event["candidates"]] == ["MAX_TOKENS", "MAX_TOKENS"]
    assert event["usageMetadata"] == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 260,
        "totalTokenCount": 310,
        "cachedContentTokenCount": 2,
        "thoughtsTokenCount": 40,
    }


def test_a_stream_as_a_json_array() -> None:
    async def events() -> AsyncIterator[bytes]:
        yield b'data: {"a":1}\r\n\r\ndata: {"b"'
        yield b":2}\r\n\r\n"

    async def nothing() -> AsyncIterator[bytes]:
        return
        yield b""

    assert json.loads(asyncio.run(_all(sse_to_json_array(events())))) == [{"a": 1}, {"b": 2}]
    assert asyncio.run(_all(sse_to_json_array(nothing()))) == b"[]"


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (413, "INVALID_ARGUMENT"),
        (429, "RESOURCE_EXHAUSTED"),
        (502, "UNAVAILABLE"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
        (507, "INTERNAL"),
    ],
)
def test_google_status_names(status: int, name: str) -> None:
    assert google_error(status, "m") == {"error": {"code": status, "message": "m", "status": name}}
