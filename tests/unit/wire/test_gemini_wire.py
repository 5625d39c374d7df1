"""The Gemini wire translation: OpenAI chat/embeddings ⇄ Gemini API v1beta, errors, streams."""

from __future__ import annotations

import base64
import itertools
import json
import re
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest, UpstreamError
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.gemini_wire import (
    THOUGHT_SIGNATURE_SENTINEL,
    StreamTranslator,
    chat_request,
    chat_response,
    embeddings_request,
    embeddings_response,
    error_facts,
    finish_reason,
    http_image_urls,
)

USER = {"role": "user", "content": "hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
PNG = "data:image/png;base64,iVBORw0KGgo="


def request(**body: Any) -> dict[str, Any]:
    body.setdefault("messages", [USER])
    return chat_request(body, fetched_images={})


def invalid(body: dict[str, Any], **fetched: tuple[str, str]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(body, fetched_images=fetched)
    return caught.value


# --- http_image_urls -------------------------------------------------------------------------


def test_http_image_urls_lists_each_remote_image_once_in_order() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://a.example/1.png"}},
                    {"type": "image_url", "image_url": {"url": PNG}},
                    {"type": "text", "text": "https://not.an/image.png"},
                    {"type": "image_url", "image_url": "HTTP://b.example/2.jpg"},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://a.example/1.png"}}],
            },
            "junk",
            {"role": "user", "content": "https://plain.text/x.png"},
        ]
    }
    assert http_image_urls(body) == ["https://a.example/1.png", "HTTP://b.example/2.jpg"]


@pytest.mark.parametrize("body", [{}, {"messages": "x"}, {"messages": [1, None, {"content": 3}]}])
def test_http_image_urls_of_junk_is_empty(body: dict[str, Any]) -> None:
    assert http_image_urls(body) == []


# --- chat_request: messages ------------------------------------------------------------------


def test_system_and_developer_messages_become_the_system_instruction() -> None:
    out = request(
        messages=[
            {"role": "system", "content": "Be terse."},
            USER,
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        ]
    )
    assert out["systemInstruction"] == {"parts": [{"text": "Be terse.\n\nAnswer in French."}]}
    assert out["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert "model" not in out


def test_a_conversation_of_instructions_only_is_sent_as_a_user_turn() -> None:
    out = request(messages=[{"role": "system", "content": "Say hello."}])
    assert out == {"contents": [{"role": "user", "parts": [{"text": "Say hello."}]}]}


def test_roles_and_merging_of_consecutive_turns() -> None:
    out = request(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": [{"type": "text", "text": "d"}]},
            {"role": "user", "content": "e"},
        ]
    )
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
        {"role": "user", "parts": [{"text": "e"}]},
    ]


def test_tool_calls_and_results() -> None:
    calls = [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": ""}},
    ]
    out = request(
        messages=[
            USER,
            {"role": "assistant", "content": "Let me look.", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_b", "content": '{"now": "12:00"}'},
            {
                "role": "tool",
                "tool_call_id": "call_a",
                "content": [{"type": "text", "text": "sunny"}],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "[1, 2]"},
        ]
    )
    assert out["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Let me look."},
            {
                "functionCall": {"name": "weather", "args": {"city": "Paris"}},
                "thoughtSignature": THOUGHT_SIGNATURE_SENTINEL,
            },
            {"functionCall": {"name": "time", "args": {}}},
        ],
    }
    assert out["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "time", "response": {"now": "12:00"}}},
            {"functionResponse": {"name": "weather", "response": {"content": "sunny"}}},
            {"functionResponse": {"name": "weather", "response": {"content": "[1, 2]"}}},
        ],
    }


def test_invalid_tool_call_arguments_name_the_param() -> None:
    bad: dict[str, Any] = {"id": "c", "function": {"name": "f", "arguments": "{nope"}}
    error = invalid({"messages": [USER, {"role": "assistant", "tool_calls": [bad]}]})
    assert error.param == "messages[1].tool_calls[0].function.arguments"
    bad["function"]["arguments"] = "[1]"
    assert invalid({"messages": [USER, {"role": "assistant", "tool_calls": [bad]}]}).param == (
        "messages[1].tool_calls[0].function.arguments"
    )


def test_a_tool_result_for_an_unknown_call_is_refused() -> None:
    body = {
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_other", "content": "x"},
        ]
    }
    assert invalid(body).param == "messages[2].tool_call_id"


def test_images_from_data_urls_and_fetched_urls() -> None:
    url = "https://img.example/cat.jpg"
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare"},
                    {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]
    }
    out = chat_request(body, fetched_images={url: ("image/jpeg", "/9j/4AAQ")})
    assert out["contents"][0]["parts"] == [
        {"text": "Compare"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "https://img.example/missing.png"}},
        {"type": "image_url", "image_url": {"url": "ftp://img.example/a.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}},
        {"type": "image_url", "image_url": {"url": 3}},
    ],
)
def test_images_that_cannot_be_sent_are_refused(part: dict[str, Any]) -> None:
    error = invalid({"messages": [{"role": "user", "content": [part]}]})
    assert error.param == "messages[0].content[0].image_url"


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "text", "text": 3},
        "text",
    ],
)
def test_other_part_types_are_refused(part: Any) -> None:
    assert invalid({"messages": [{"role": "user", "content": [part]}]}).param == (
        "messages[0].content[0]"
    )


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ("hi", "messages"),
        ([3], "messages[0]"),
        ([{"role": "robot", "content": "x"}], "messages[0].role"),
        ([{"role": "user", "content": 3}], "messages[0].content"),
        (
            [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}],
            "messages[0].content[0]",
        ),
        ([{"role": "user", "content": ""}], "messages"),
    ],
)
def test_malformed_messages_are_refused(messages: Any, param: str) -> None:
    assert invalid({"messages": messages}).param == param


# --- chat_request: generation config, tools --------------------------------------------------


def test_generation_config() -> None:
    out = request(
        temperature=0.5,
        top_p=0.9,
        max_tokens=100,
        max_completion_tokens=200,
        stop=["\n\n", "END"],
        n=2,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=-0.2,
        response_format={"type": "json_object"},
        user="someone",
        stream=True,
        stream_options={"include_usage": True},
        logit_bias={"1": 2},
        store=True,
    )
    assert out["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 200,
        "stopSequences": ["\n\n", "END"],
        "candidateCount": 2,
        "seed": 7,
        "presencePenalty": 0.1,
        "frequencyPenalty": -0.2,
        "responseMimeType": "application/json",
    }
    assert set(out) == {"contents", "generationConfig"}


def test_a_single_stop_string_and_no_config() -> None:
    assert request(stop="END")["generationConfig"] == {"stopSequences": ["END"]}
    assert "generationConfig" not in request(stop=None, response_format={"type": "text"})


def test_more_than_five_stop_sequences_are_refused() -> None:
    assert invalid({"messages": [USER], "stop": list("abcdef")}).param == "stop"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("temperature", "hot"),
        ("max_tokens", 1.5),
        ("n", True),
        ("stop", [1]),
        ("response_format", {"type": "xml"}),
        ("tools", [{"type": "retrieval"}]),
        ("tool_choice", "sometimes"),
    ],
)
def test_untranslatable_parameters_are_refused(key: str, value: Any) -> None:
    assert str(invalid({"messages": [USER], key: value}).param).startswith(key)


def test_json_schema_response_format() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Answer",
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "Where", "default": "Paris"},
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "note": {"type": ["string", "null"]},
            "size": {"type": "integer", "enum": [1, 2], "description": "Size"},
            "home": {"$ref": "#/$defs/Place"},
            "either": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
        "required": ["city", "ghost"],
        "additionalProperties": False,
        "$defs": {"Place": {"type": "object", "properties": {"x": {"type": "number"}}}},
    }
    out = request(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "a", "strict": True, "schema": schema},
        }
    )
    assert out["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "Where"},
                "when": {"type": "STRING", "format": "date-time"},
                "id": {"type": "STRING"},
                "tags": {
                    "type": "ARRAY",
                    "items": {"type": "STRING", "format": "enum", "enum": ["a", "b"]},
                },
                "note": {"type": "STRING", "nullable": True},
                "size": {"type": "INTEGER", "description": "Size Allowed values: 1, 2."},
                "home": {"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}}},
                "either": {"type": "NUMBER", "nullable": True},
            },
            "required": ["city"],
        },
    }


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}},
        {"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"},
        {"type": "tuple"},
        {"type": "object", "properties": []},
    ],
)
def test_schemas_that_cannot_be_converted_are_refused(schema: dict[str, Any]) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    assert invalid({"messages": [USER], "tools": [tool]}).param == "tools[0].function.parameters"


def test_tools_and_tool_choice() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "title": "City"}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
        },
        {
            "type": "function",
            "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    out = request(tools=tools)
    assert out["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "The weather",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"city": {"type": "STRING"}},
                        "required": ["city"],
                    },
                },
                {"name": "ping"},
            ]
        }
    ]
    assert "toolConfig" not in out
    for choice, config in [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["weather"]},
        ),
    ]:
        assert request(tools=tools, tool_choice=choice)["toolConfig"] == {
            "functionCallingConfig": config
        }


# --- chat_response ---------------------------------------------------------------------------

USAGE = {
    "promptTokenCount": 100,
    "candidatesTokenCount": 20,
    "thoughtsTokenCount": 5,
    "cachedContentTokenCount": 60,
    "totalTokenCount": 125,
}


def respond(resp: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    return chat_response(
        resp, model="gemini-2.5-flash", created=1700000000, completion_id="chatcmpl-1"
    )


def test_chat_response_with_text_and_usage() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking...", "thought": True},
                        {"text": "Hello"},
                        {"text": " there"},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": USAGE,
        "modelVersion": "gemini-2.5-flash-001",
    }
    body, usage = respond(resp)
    assert body == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gemini-2.5-flash-001",  # the modelVersion the upstream answered
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 25,
            "total_tokens": 125,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 5},
        },
    }
    assert usage == Usage(input_tokens=100, output_tokens=25, cached_tokens=60)


def test_chat_response_with_function_calls() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {
                                "name": "weather",
                                "args": {"city": "Paris", "days": 2},
                            },
                            "thoughtSignature": "abc",
                        },
                        {"functionCall": {"name": "time"}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    body, usage = respond(resp)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [call["function"] for call in calls] == [
        {"name": "weather", "arguments": '{"city":"Paris","days":2}'},
        {"name": "time", "arguments": "{}"},
    ]
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", call["id"]) for call in calls)
    assert calls[0]["id"] != calls[1]["id"]
    assert calls == respond(resp)[0]["choices"][0]["message"]["tool_calls"]  # deterministic
    assert usage == Usage()


def test_several_candidates() -> None:
    resp = {
        "candidates": [
            {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1},
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
        ]
    }
    choices = respond(resp)[0]["choices"]
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


def test_a_blocked_prompt_is_a_content_filter_choice() -> None:
    resp = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}}
    body, usage = respond(resp)
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None},
            "finish_reason": "content_filter",
        }
    ]
    assert usage == Usage(input_tokens=7)


def test_a_filtered_candidate_without_content() -> None:
    body, _ = respond({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]})
    assert body["choices"][0]["message"] == {"role": "assistant", "content": None}
    assert body["choices"][0]["finish_reason"] == "content_filter"


# --- finish_reason ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gemini", "openai"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
        ("LANGUAGE", "stop"),
        ("SOMETHING_NEW", "stop"),
        (None, None),
    ],
)
def test_finish_reason(gemini: str | None, openai: str | None) -> None:
    assert finish_reason(gemini) == openai


# --- StreamTranslator ------------------------------------------------------------------------


def translator(*, include_usage: bool = True) -> StreamTranslator:
    return StreamTranslator(
        model="gemini-2.5-flash",
        created=1700000000,
        completion_id="chatcmpl-s",
        include_usage=include_usage,
    )


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [choice["delta"] for chunk in chunks for choice in chunk["choices"]]


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
    assert stream.usage == Usage(input_tokens=12, output_tokens=12, cached_tokens=0)
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


# --- embeddings ------------------------------------------------------------------------------


def test_embeddings_request() -> None:
    body = {"model": "e", "input": ["a", "b"], "dimensions": 256, "encoding_format": "base64"}
    assert embeddings_request(body, "text-embedding-004") == {
        "requests": [
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "a"}]},
                "outputDimensionality": 256,
            },
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "b"}]},
                "outputDimensionality": 256,
            },
        ]
    }
    one = embeddings_request({"input": "x"}, "models/gemini-embedding-001")
    assert one == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "x"}]}}
        ]
    }


@pytest.mark.parametrize("value", [[1, 2, 3], [[1, 2]], [], ["a", ""], 3, None])
def test_embeddings_of_anything_but_text_are_refused(value: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        embeddings_request({"input": value}, "m")
    assert caught.value.param == "input"


def test_embeddings_response_floats_and_base64() -> None:
    resp = {"embeddings": [{"values": [0.5, -1.0]}, {"values": [0.25]}]}
    plain = embeddings_response(resp, model="e", base64=False, input_tokens=4)
    assert plain == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, -1.0]},
            {"object": "embedding", "index": 1, "embedding": [0.25]},
        ],
        "model": "e",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    packed = embeddings_response(resp, model="e", base64=True, input_tokens=4)["data"][0][
        "embedding"
    ]
    assert struct.unpack("<2f", base64.b64decode(packed)) == (0.5, -1.0)


# --- error_facts -----------------------------------------------------------------------------


def gemini_error(code: int, status: str, message: str = "boom", details: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("delay", "expected"),
    [("7s", "7"), ("7.2s", "8"), ("0.5s", "1"), ("30.000s", "30"), ("soon", "12")],
)
def test_rate_limits_carry_retry_after(delay: str, expected: str) -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
    ]
    body = gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", details)
    assert error_facts(429, body, "12") == (Condition.RATE_LIMITED, "Quota exceeded", expected)


@pytest.mark.parametrize(
    ("status", "grpc", "expected"),
    [
        (400, "INVALID_ARGUMENT", Condition.INVALID_REQUEST),
        (400, "FAILED_PRECONDITION", Condition.INVALID_REQUEST),
        (403, "PERMISSION_DENIED", Condition.CREDENTIALS_REFUSED),
        (401, "UNAUTHENTICATED", Condition.CREDENTIALS_REFUSED),
        (404, "NOT_FOUND", Condition.MODEL_NOT_FOUND),
        (503, "UNAVAILABLE", Condition.OVERLOADED),
        (504, "DEADLINE_EXCEEDED", Condition.TIMEOUT),
        (500, "INTERNAL", Condition.SERVER_ERROR),
        (429, "", Condition.RATE_LIMITED),
    ],
)
def test_error_statuses(status: int, grpc: str, expected: Condition) -> None:
    assert error_facts(status, gemini_error(status, grpc), None) == (expected, "boom", None)


def test_an_invalid_api_key_is_the_gateways_credentials_refused() -> None:
    """Google answers a key it does not take with 400 INVALID_ARGUMENT, not 401."""
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
    }
    body = gemini_error(400, "INVALID_ARGUMENT", "API key not valid.", [info])
    assert error_facts(400, body, None)[0] is Condition.CREDENTIALS_REFUSED


def test_an_input_over_the_token_limit_is_the_context_length_condition() -> None:
    message = "The input token count (1048577) exceeds the maximum number of tokens allowed."
    body = gemini_error(400, "INVALID_ARGUMENT", message)
    assert error_facts(400, body, None)[0] is Condition.CONTEXT_LENGTH_EXCEEDED


def test_errors_in_an_array_and_junk_bodies() -> None:
    wrapped = b"[" + gemini_error(400, "INVALID_ARGUMENT", "bad") + b"]"
    assert error_facts(400, wrapped, None)[:2] == (Condition.INVALID_REQUEST, "bad")
    assert error_facts(502, b"<html>Bad Gateway</html>", None) == (
        Condition.SERVER_ERROR,
        "<html>Bad Gateway</html>",
        None,
    )
    assert error_facts(429, b"", " 5 ") == (Condition.RATE_LIMITED, "no error message", "5")


# --- properties ------------------------------------------------------------------------------

json_scalar = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def maybe(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, once in a while any JSON value at all."""
    return st.integers(0, 19).flatmap(lambda roll: json_value if roll == 0 else good)


ids = st.sampled_from(["call_1", "call_2", "call_3"])
part_like = mostly(
    st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": mostly(st.text(max_size=6))}),
        st.fixed_dictionaries(
            {
                "type": st.just("image_url"),
                "image_url": mostly(
                    st.fixed_dictionaries(
                        {"url": st.sampled_from([PNG, "https://i.example/a.png", "data:x"])}
                    )
                ),
            }
        ),
        maybe(["type", "text", "image_url", "input_audio"], json_value),
    )
)
call_like = mostly(
    st.fixed_dictionaries(
        {"id": mostly(ids), "type": mostly(st.just("function"))},
        optional={
            "function": mostly(
                st.fixed_dictionaries(
                    {"name": mostly(st.sampled_from(["f", "g"]))},
                    optional={
                        "arguments": mostly(st.sampled_from(["{}", '{"a": [1]}', "", "[", "7"]))
                    },
                )
            )
        },
    )
)
message_like = mostly(
    st.fixed_dictionaries(
        {
            "role": mostly(
                st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])
            )
        },
        optional={
            "content": st.none() | mostly(st.text(max_size=6)) | st.lists(part_like, max_size=3),
            "tool_calls": mostly(st.lists(call_like, max_size=3)),
            "tool_call_id": mostly(ids),
            "name": mostly(st.sampled_from(["f", "g"])),
            "function_call": json_value,
        },
    )
)
schema_like = st.recursive(
    maybe(
        ["type", "description", "enum", "format", "nullable", "const"],
        json_value | st.sampled_from(["object", "string", "array", "integer", "null", "enum"]),
    ),
    lambda inner: maybe(
        ["type", "properties", "items", "required", "anyOf", "oneOf", "allOf", "$ref", "$defs"],
        inner
        | st.dictionaries(st.sampled_from(["a", "b", "A"]), inner, max_size=3)
        | st.lists(inner, max_size=3)
        | st.sampled_from(["#/$defs/A", "object", "array"])
        | json_value,
    ),
    max_leaves=12,
)
tool_like = mostly(
    st.fixed_dictionaries(
        {
            "type": mostly(st.just("function")),
            "function": mostly(
                st.fixed_dictionaries(
                    {"name": mostly(st.sampled_from(["f", "g"]))},
                    optional={"description": json_value, "parameters": mostly(schema_like)},
                )
            ),
        }
    )
)
choice_like = mostly(
    st.sampled_from(["auto", "none", "required"])
    | st.fixed_dictionaries({"type": st.just("function"), "function": maybe(["name"], ids)})
)
format_like = mostly(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "json_object", "json_schema"])},
        optional={"json_schema": mostly(maybe(["name", "schema", "strict"], schema_like))},
    )
)
whole = mostly(st.integers(1, 300))
fraction = mostly(st.floats(0, 2))
params_like = st.fixed_dictionaries(
    {},
    optional={
        "temperature": fraction,
        "top_p": fraction,
        "max_tokens": whole,
        "max_completion_tokens": whole,
        "n": whole,
        "seed": whole,
        "presence_penalty": fraction,
        "stop": mostly(st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=7)),
        "response_format": format_like,
        "tools": mostly(st.lists(tool_like, max_size=3)),
        "tool_choice": choice_like,
        "user": json_value,
    },
)
body_like = st.one_of(
    st.dictionaries(st.text(max_size=8), json_value, max_size=5),
    st.builds(
        lambda messages, params: {"messages": messages, **params},
        mostly(st.lists(message_like, min_size=1, max_size=5)),
        params_like,
    ),
)


# Valid conversations: for (b) below, and as a base for (a).

text = st.text(min_size=1, max_size=12)
args_value = st.dictionaries(
    st.text(max_size=5), json_scalar | st.lists(json_scalar, max_size=3), max_size=3
)


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": t} for t in draw(st.lists(text, max_size=2))
    ]
    call_number = 0
    for _ in range(draw(st.integers(1, 4))):
        parts: list[dict[str, Any]] = []
        for kind in draw(st.lists(st.sampled_from(["text", "image"]), min_size=1, max_size=3)):
            if kind == "text":
                parts.append({"type": "text", "text": draw(text)})
            else:
                data = base64.b64encode(draw(st.binary(min_size=1, max_size=8))).decode()
                mime = draw(st.sampled_from(["image/png", "image/jpeg", "image/webp"]))
                parts.append(
                    {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
                )
        plain = len(parts) == 1 and parts[0]["type"] == "text" and draw(st.booleans())
        messages.append({"role": "user", "content": parts[0]["text"] if plain else parts})
        if not draw(st.booleans()):
            continue
        assistant: dict[str, Any] = {"role": "assistant", "content": draw(st.none() | text)}
        calls = []
        for _ in range(draw(st.integers(0, 3))):
            call_number += 1
            calls.append(
                {
                    "id": f"call_{call_number}",
                    "type": "function",
                    "function": {
                        "name": draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True)),
                        "arguments": json.dumps(draw(args_value)),
                    },
                }
            )
        if calls:
            assistant["tool_calls"] = calls
        elif assistant["content"] is None:
            assistant["content"] = draw(text)
        messages.append(assistant)
        for call in draw(st.permutations(calls)):
            result = draw(st.one_of(text, args_value.map(json.dumps)))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return messages


# (a) any body: a Gemini request, or InvalidRequest, nothing else.


@given(
    body_like
    | st.builds(
        lambda messages, params: {"messages": messages, **params}, conversations(), params_like
    )
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_any_body_translates_or_is_refused_as_invalid(body: dict[str, Any]) -> None:
    fetched = {url: ("image/png", "AAAA") for url in http_image_urls(body)}
    try:
        out = chat_request(body, fetched_images=fetched)
    except InvalidRequest as error:
        refused: InvalidRequest | None = error
    else:
        refused = None
    if refused is not None:  # anything else than InvalidRequest fails the test
        assert refused.message
        return
    json.dumps(out)  # the request is JSON
    assert out["contents"]
    assert all(turn["parts"] for turn in out["contents"])


# (b) a generated conversation → chat_request → read back: the same meaning.


def expected_meaning(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    names: dict[str, str] = {}
    events: list[tuple[Any, ...]] = []
    for m in messages:
        if m["role"] == "user":
            content = m["content"]
            parts: list[dict[str, Any]] = (
                [{"type": "text", "text": content}] if isinstance(content, str) else content
            )
            for part in parts:
                if part["type"] == "text":
                    events.append(("user", "text", part["text"]))
                else:
                    head, data = part["image_url"]["url"].split(",", 1)
                    events.append(("user", "image", head[5:].split(";")[0], data))
        elif m["role"] == "assistant":
            if m["content"]:
                events.append(("model", "text", m["content"]))
            for call in m.get("tool_calls", []):
                names[call["id"]] = call["function"]["name"]
                events.append(
                    (
                        "model",
                        "call",
                        call["function"]["name"],
                        json.loads(call["function"]["arguments"]),
                    )
                )
        elif m["role"] == "tool":
            try:
                parsed = json.loads(m["content"])
            except ValueError:
                parsed = None
            response = parsed if isinstance(parsed, dict) else {"content": m["content"]}
            events.append(("user", "result", names[m["tool_call_id"]], response))
    return system, events


def read_back(out: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """The inverse of chat_request, for what a conversation means."""
    system = "".join(part["text"] for part in out.get("systemInstruction", {}).get("parts", []))
    events: list[tuple[Any, ...]] = []
    roles = [turn["role"] for turn in out["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns are merged"
    for turn in out["contents"]:
        for part in turn["parts"]:
            if "text" in part:
                events.append((turn["role"], "text", part["text"]))
            elif "inlineData" in part:
                events.append(
                    (
                        turn["role"],
                        "image",
                        part["inlineData"]["mimeType"],
                        part["inlineData"]["data"],
                    )
                )
            elif "functionCall" in part:
                events.append(
                    (
                        turn["role"],
                        "call",
                        part["functionCall"]["name"],
                        part["functionCall"]["args"],
                    )
                )
            else:
                response = part["functionResponse"]
                events.append((turn["role"], "result", response["name"], response["response"]))
    return system, events


@given(conversations())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_a_conversation_keeps_its_meaning(messages: list[dict[str, Any]]) -> None:
    out = chat_request({"model": "m", "messages": messages}, fetched_images={})
    assert read_back(out) == expected_meaning(messages)


# (c) arbitrary events: chunks, or an UpstreamError, nothing else.

event_part = mostly(
    st.one_of(
        st.fixed_dictionaries(
            {"text": mostly(st.text(max_size=6))}, optional={"thought": st.booleans()}
        ),
        st.fixed_dictionaries(
            {"functionCall": mostly(maybe(["name", "args"], st.just("f") | args_value))},
            optional={"thoughtSignature": json_value},
        ),
        maybe(["text", "thought", "functionCall", "inlineData"], json_value),
    )
)
candidate_like = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "content": mostly(
                st.fixed_dictionaries(
                    {"parts": mostly(st.lists(event_part, max_size=3))},
                    optional={"role": st.just("model")},
                )
            ),
            "finishReason": mostly(
                st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "MALFORMED_FUNCTION_CALL"])
            ),
            "index": mostly(st.integers(0, 2)),
        },
    )
)
usage_like = mostly(
    maybe(
        [
            "promptTokenCount",
            "candidatesTokenCount",
            "thoughtsTokenCount",
            "cachedContentTokenCount",
        ],
        mostly(st.integers(0, 10**6)),
    )
)
error_like = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "code": mostly(st.sampled_from([400, 429, 500, 503])),
            "message": mostly(st.text(max_size=8)),
            "status": mostly(st.sampled_from(["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL"])),
            "details": json_value,
        },
    )
)
event_like = st.one_of(
    st.dictionaries(st.text(max_size=8), json_value, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "candidates": mostly(st.lists(candidate_like, max_size=3)),
            "usageMetadata": usage_like,
            "promptFeedback": mostly(maybe(["blockReason"], st.just("SAFETY"))),
        },
    ),
    st.fixed_dictionaries({"error": error_like}),
)


@given(st.lists(event_like, max_size=5), st.booleans())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_events_give_chunks_or_an_upstream_error(
    events: list[dict[str, Any]], include_usage: bool
) -> None:
    stream = translator(include_usage=include_usage)
    try:
        chunks = [chunk for event in events for chunk in stream.feed(event)]
    except UpstreamError as error:
        failed: UpstreamError | None = error
    else:
        failed = None
    if failed is not None:  # anything else than UpstreamError fails the test
        assert 400 <= failed.status <= 599
        return
    chunks += stream.finish()
    json.dumps(chunks)
    assert stream.finished
    assert stream.output_chars >= 0


# (d) error_facts never raises.


@given(
    st.integers(-1000, 1000),
    st.binary(max_size=256) | json_value.map(lambda v: json.dumps({"error": v}).encode()),
    st.none() | st.text(max_size=10),
)
@settings(max_examples=300)
def test_error_facts_never_raises(status: int, body: bytes, retry_after: str | None) -> None:
    condition, message, retry = error_facts(status, body, retry_after)
    assert condition in Condition
    assert message
    assert retry is None or isinstance(retry, str)
