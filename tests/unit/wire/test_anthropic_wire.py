"""The Anthropic Messages translation: requests, whole messages, stream events, error bodies."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import string
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest, UpstreamError
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.anthropic_wire import (
    StreamTranslator,
    chat_request,
    chat_response,
    error_facts,
    finish_reason,
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


# --- chat_request: messages --------------------------------------------------------------------


def test_a_plain_conversation() -> None:
    out = translate({"model": "claude", "messages": [user("hi")]})
    assert out == {
        "model": "claude-x-1",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_system_and_developer_messages_anywhere_become_the_system_prompt() -> None:
    out = translate(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                user("hi"),
                {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
                {"role": "assistant", "content": "Salut"},
                {"role": "system", "content": [{"type": "text", "text": "No emoji."}]},
                user("ok"),
            ]
        }
    )
    assert out["system"] == "Be brief.\n\nUse French.\n\nNo emoji."
    assert [turn["role"] for turn in out["messages"]] == ["user", "assistant", "user"]


def test_no_system_key_without_system_text() -> None:
    assert "system" not in translate({"messages": [{"role": "system", "content": ""}, user("x")]})


def test_text_and_image_parts() -> None:
    out = translate(
        {
            "messages": [
                user(
                    [
                        {"type": "text", "text": "what is this?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}},
                        {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,AAAA"}},
                    ]
                )
            ]
        }
    )
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
    ]


@pytest.mark.parametrize(
    "url",
    ["data:image/bmp;base64,AAAA", "data:image/png,rawbytes", "ftp://x.test/a.png", "file:///a"],
)
def test_images_anthropic_cannot_take(url: str) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    error = refused({"messages": [user([{"type": "text", "text": "x"}, part])]})
    assert error.param == "messages[0].content[1].image_url.url"


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "video_url", "video_url": {"url": "https://x.test/v.mp4"}},
    ],
)
def test_other_content_parts_are_refused_by_name(part: dict[str, Any]) -> None:
    error = refused({"messages": [user("a"), {"role": "assistant", "content": "b"}, user([part])]})
    assert error.param == "messages[2].content[0]"
    assert part["type"] in error.message


def test_assistant_tool_calls_and_tool_results() -> None:
    out = translate(
        {
            "messages": [
                user("weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        call("call_1", "weather", '{"city": "Paris"}'),
                        call("call_2", "weather", '{"city": "Rome", "units": ["c"]}'),
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {
                    "role": "tool",
                    "tool_call_id": "call_2",
                    "content": [{"type": "text", "text": "2"}, {"type": "text", "text": "1C"}],
                },
                user("thanks"),
            ]
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "weather",
                    "input": {"city": "Rome", "units": ["c"]},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "21C"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


def test_assistant_with_null_content_and_a_call_without_arguments() -> None:
    out = translate(
        {
            "messages": [
                user("now?"),
                {"role": "assistant", "content": None, "tool_calls": [call("c", "clock", "")]},
                {"role": "tool", "tool_call_id": "c", "content": ""},
            ]
        }
    )
    assert out["messages"][1]["content"] == [
        {"type": "tool_use", "id": "c", "name": "clock", "input": {}}
    ]
    assert out["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "c"}]


@pytest.mark.parametrize("arguments", ['{"city": "Par', "[1, 2]", "3", "null"])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    error = refused(
        {
            "messages": [
                user("a"),
                {
                    "role": "assistant",
                    "tool_calls": [call("ok", "f", "{}"), call("x", "f", arguments)],
                },
            ]
        }
    )
    assert error.param == "messages[1].tool_calls[1].function.arguments"


def test_consecutive_turns_of_one_role_are_merged() -> None:
    out = translate(
        {
            "messages": [
                user("one"),
                user([{"type": "text", "text": "two"}]),
                {"role": "assistant", "content": "three"},
                {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
                user("five"),
            ]
        }
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "five"}]},
    ]


def test_the_conversation_must_start_with_the_user() -> None:
    error = refused(
        {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "hi"}]}
    )
    assert error.param == "messages"
    assert error.message == "the first non-system message must come from the user"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (None, "messages"),
        ([], "messages"),
        ([{"role": "system", "content": "only a system prompt"}], "messages"),
        (["hi"], "messages[0]"),
        ([{"role": "bot", "content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": 3}], "messages[0].content"),
        ([{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text"),
        ([user("a"), {"role": "tool", "content": "r"}], "messages[1].tool_call_id"),
        (
            [user("a"), {"role": "assistant", "tool_calls": [{"id": "c"}]}],
            "messages[1].tool_calls[0]",
        ),
    ],
)
def test_malformed_messages(messages: Any, param: str) -> None:
    assert refused({"messages": messages}).param == param


# --- chat_request: parameters ------------------------------------------------------------------


def test_sampling_parameters() -> None:
    out = translate(
        {
            "messages": [user("x")],
            "max_completion_tokens": 100,
            "temperature": 0.3,
            "top_p": 0.9,
            "stop": ["END", ""],
            "user": "u-42",
        },
        stream=True,
    )
    assert out["max_tokens"] == 100
    assert out["temperature"] == 0.3
    assert out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "u-42"}
    assert out["stream"] is True


def test_max_tokens_falls_back_to_the_default() -> None:
    assert translate({"messages": [user("x")], "max_tokens": 7})["max_tokens"] == 7
    assert translate({"messages": [user("x")], "max_tokens": None})["max_tokens"] == 4096


@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
def test_max_tokens_must_be_a_positive_integer(value: Any) -> None:
    assert refused({"messages": [user("x")], "max_tokens": value}).param == "max_tokens"


def test_temperature_above_one_is_clamped_and_top_p_one_is_dropped() -> None:
    out = translate({"messages": [user("x")], "temperature": 1.7, "top_p": 1})
    assert out["temperature"] == 1.0
    assert "top_p" not in out


def test_a_single_stop_string() -> None:
    assert translate({"messages": [user("x")], "stop": "\n\n"})["stop_sequences"] == ["\n\n"]


def test_parameters_without_an_anthropic_meaning_are_dropped() -> None:
    client = {
        "model": "gpt",
        "messages": [user("x")],
        "stream": False,
        "seed": 1,
        "logit_bias": {"50256": -100},
        "frequency_penalty": 0.5,
        "presence_penalty": 0.5,
        "logprobs": True,
        "top_logprobs": 2,
        "stream_options": {"include_usage": True},
        "store": True,
        "metadata": {"k": "v"},
        "n": 1,
        "response_format": {"type": "text"},
    }
    before = copy.deepcopy(client)
    assert set(translate(client)) == {"model", "max_tokens", "messages"}
    assert client == before  # the client's body is not changed


def test_n_above_one_is_refused() -> None:
    assert refused({"messages": [user("x")], "n": 2}).param == "n"


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ("json", "response_format.type"),
        ({"type": "yaml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "a b"}},
            "response_format.json_schema.name",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_malformed_response_formats_are_refused(response_format: Any, param: str) -> None:
    error = refused({"messages": [user("x")], "response_format": response_format})
    assert error.param == param


def test_tools_and_tool_choice() -> None:
    weather = {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "The weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": True,
        },
    }
    bare = {"type": "function", "function": {"name": "clock"}}
    body = {"messages": [user("x")], "tools": [weather, bare]}
    out = translate(body)
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "The weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "clock", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in out
    cases = {
        "auto": {"type": "auto"},
        "required": {"type": "any"},
        "none": {"type": "none"},
    }
    for choice, expected in cases.items():
        assert translate(dict(body, tool_choice=choice))["tool_choice"] == expected
    named = {"type": "function", "function": {"name": "clock"}}
    assert translate(dict(body, tool_choice=named))["tool_choice"] == {
        "type": "tool",
        "name": "clock",
    }


def test_parallel_tool_calls_false() -> None:
    tools = [{"type": "function", "function": {"name": "clock"}}]
    body = {"messages": [user("x")], "tools": tools, "parallel_tool_calls": False}
    assert translate(body)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert translate(dict(body, tool_choice="required"))["tool_choice"] == {
        "type": "any",
        "disable_parallel_tool_use": True,
    }
    assert translate(dict(body, tool_choice="none"))["tool_choice"] == {"type": "none"}
    assert "tool_choice" not in translate(dict(body, parallel_tool_calls=True))


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "allowed_tools"}}, "tool_choice"),
        ({"functions": {"name": "f"}}, "functions"),
        ({"functions": [], "tools": []}, "functions"),
        ({"function_call": "required"}, "function_call"),
        ({"temperature": "hot"}, "temperature"),
        ({"stop": [1]}, "stop"),
        ({"user": 5}, "user"),
    ],
)
def test_malformed_parameters(extra: dict[str, Any], param: str) -> None:
    assert refused({"messages": [user("x")], **extra}).param == param


def test_tool_choice_auto_without_tools_is_dropped() -> None:
    assert "tool_choice" not in translate({"messages": [user("x")], "tool_choice": "auto"})


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


def test_chat_response() -> None:
    body, usage = chat_response(MESSAGE, model="claude-sonnet", created=1700000000)
    assert body == {
        "id": "msg_01",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-x-1",  # the model the upstream says answered
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking now.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 125,
            "completion_tokens": 30,
            "total_tokens": 155,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }
    assert usage == Usage(input_tokens=125, output_tokens=30, cached_tokens=100)


def test_chat_response_with_only_a_tool_call_and_an_id_given() -> None:
    message = dict(MESSAGE, content=[MESSAGE["content"][3]])  # type: ignore[index]
    body, _ = chat_response(message, model="m", created=1, completion_id="chatcmpl-9")
    assert body["id"] == "chatcmpl-9"
    assert body["choices"][0]["message"]["content"] is None


def test_chat_response_text_only() -> None:
    message = {"id": "m", "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"}
    body, usage = chat_response(message, model="m", created=1)
    assert "tool_calls" not in body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert usage == Usage()


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, None),
    ],
)
def test_finish_reason(stop: str | None, finish: str | None) -> None:
    assert finish_reason(stop) == finish


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
    }
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert translator.usage == Usage(input_tokens=40, output_tokens=40, cached_tokens=10)
    assert translator.finished
    assert translator.output_chars == len("Let me check.") + len(ARGS_JSON)


def test_usage_is_known_before_the_end_and_only_sent_when_asked() -> None:
    translator, _ = run(EVENTS[:1], include_usage=False)
    assert translator.usage == Usage(input_tokens=40, output_tokens=1, cached_tokens=10)
    assert not translator.finished
    translator, chunks = run(EVENTS, include_usage=False)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert translator.usage == Usage(input_tokens=40, output_tokens=40, cached_tokens=10)


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
    _, chunks = run(events)
    calls = assembled_calls(chunks)
    assert calls == {
        0: {"id": "toolu_a", "name": "clock", "arguments": "{}"},  # no input: "{}"
        1: {"id": "toolu_b", "name": "weather", "arguments": '{"city":"Rome"}'},
    }
    assert "hmm" not in json.dumps(chunks)


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


# --- error_facts -------------------------------------------------------------------------------


def anthropic_error(kind: str, message: str = "msg") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (529, "overloaded_error", Condition.OVERLOADED),
        (429, "rate_limit_error", Condition.RATE_LIMITED),
        (500, "api_error", Condition.SERVER_ERROR),
        (400, "invalid_request_error", Condition.INVALID_REQUEST),
        (401, "authentication_error", Condition.CREDENTIALS_REFUSED),
        (403, "permission_error", Condition.CREDENTIALS_REFUSED),
        (404, "not_found_error", Condition.MODEL_NOT_FOUND),
        (413, "request_too_large", Condition.REQUEST_TOO_LARGE),
        (402, "billing_error", Condition.SERVER_ERROR),
        (504, "timeout_error", Condition.TIMEOUT),
    ],
)
def test_error_facts(status: int, kind: str, expected: Condition) -> None:
    assert error_facts(status, anthropic_error(kind, "Nope")) == (expected, "Nope")


def test_a_prompt_too_long_is_the_context_length_condition() -> None:
    body = anthropic_error("invalid_request_error", "prompt is too long: 210000 tokens > 200000")
    assert error_facts(400, body)[0] is Condition.CONTEXT_LENGTH_EXCEEDED


def test_error_facts_of_junk() -> None:
    assert error_facts(503, b"<html>bad gateway</html>") == (
        Condition.OVERLOADED,
        "<html>bad gateway</html>",
    )
    assert error_facts(502, b"<html>bad gateway</html>")[0] is Condition.SERVER_ERROR
    assert error_facts(529, b"") == (Condition.OVERLOADED, "upstream error (HTTP 529)")
    assert error_facts(400, b'{"error": "flat"}') == (
        Condition.INVALID_REQUEST,
        '{"error": "flat"}',
    )


# --- properties --------------------------------------------------------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


def either(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly one of the given (plausible) strategies, sometimes any JSON at all."""
    plausible = st.one_of(*strategies)
    return st.integers(0, 5).flatmap(lambda pick: JSON if pick == 0 else plausible)


SOME_TEXT = st.text(min_size=1, max_size=8)
URLS = ["https://x.test/a.png", "data:image/png;base64,AA", "data:,", "data:", "ftp://x"]
PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": either(SOME_TEXT)}),
    st.fixed_dictionaries({"type": st.just("text"), "text": either(SOME_TEXT)}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": either(st.fixed_dictionaries({"url": either(st.sampled_from(URLS))})),
        }
    ),
    st.fixed_dictionaries(
        {"type": either(st.sampled_from(["refusal", "input_audio", "file"]))},
        optional={"text": JSON, "refusal": JSON},
    ),
)
CONTENT = either(SOME_TEXT, st.lists(PART, min_size=1, max_size=3))
TOOL_CALL = st.fixed_dictionaries(
    {
        "id": either(SOME_TEXT),
        "type": either(st.just("function")),
        "function": either(
            st.fixed_dictionaries(
                {"name": either(SOME_TEXT)},
                optional={"arguments": either(st.sampled_from(["{}", '{"a":1}', "", "[", "1"]))},
            )
        ),
    }
)
MESSAGE_STRATEGY = st.fixed_dictionaries(
    {
        "role": either(st.sampled_from(["system", "developer", "user", "assistant", "tool"])),
        "content": CONTENT,
        "tool_call_id": either(SOME_TEXT),
    },
    optional={"tool_calls": either(st.lists(TOOL_CALL, max_size=2))},
)
TOOL = st.fixed_dictionaries(
    {"type": either(st.just("function"))},
    optional={
        "function": either(
            st.fixed_dictionaries(
                {"name": either(st.text(max_size=5))},
                optional={"description": JSON, "parameters": JSON},
            )
        )
    },
)
BODY = st.fixed_dictionaries(
    {
        "messages": either(
            st.tuples(CONTENT, st.lists(MESSAGE_STRATEGY, max_size=4)).map(
                lambda first_and_rest: [user(first_and_rest[0]), *first_and_rest[1]]
            )
        ),
    },
    optional={
        "max_tokens": either(st.integers(-2, 10**6)),
        "max_completion_tokens": either(st.integers(1, 10**6)),
        "temperature": either(st.floats(0, 2)),
        "top_p": either(st.floats(0, 1)),
        "stop": either(st.lists(st.text(max_size=4), max_size=3)),
        "user": either(st.text(max_size=8)),
        "n": either(st.just(1)),
        "response_format": either(st.just({"type": "text"})),
        "tools": either(st.lists(TOOL, max_size=2)),
        "tool_choice": either(st.sampled_from(["auto", "none", "required"])),
        "parallel_tool_calls": either(st.booleans()),
        "seed": JSON,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.text(max_size=10), JSON, max_size=6) | BODY, stream=st.booleans())
def test_any_body_translates_or_is_refused_as_invalid(body: dict[str, Any], stream: bool) -> None:
    try:
        out = chat_request(body, "claude-x-1", max_tokens_default=512, stream=stream)
    except InvalidRequest as error:
        refusal: InvalidRequest | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.message
        return
    msgspec.json.encode(out)
    assert out["model"] == "claude-x-1"
    assert out["messages"][0]["role"] == "user"
    roles = [turn["role"] for turn in out["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))


# (b) round trip: OpenAI conversation → Anthropic request → (inverse, below) → same meaning.

IDENT = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=10)
TEXT = st.text(min_size=1, max_size=20)
ARG_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
ARGS_STRATEGY = st.dictionaries(st.text(max_size=6), ARG_VALUES, max_size=4)


def text_content(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(TEXT)
    return [{"type": "text", "text": text} for text in draw(st.lists(TEXT, min_size=1, max_size=3))]


def image_part(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        url = f"https://img.test/{draw(IDENT)}.png"
    else:
        media = draw(st.sampled_from(["image/jpeg", "image/png", "image/gif", "image/webp"]))
        url = f"data:{media};base64,{base64.b64encode(draw(st.binary(max_size=12))).decode()}"
    return {"type": "image_url", "image_url": {"url": url, "detail": "auto"}}


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    call_ids = iter(range(10**6))

    def maybe_system() -> None:
        if draw(st.integers(0, 3)) == 0:
            role = draw(st.sampled_from(["system", "developer"]))
            messages.append({"role": role, "content": text_content(draw)})

    for _ in range(draw(st.integers(1, 4))):
        maybe_system()
        for _ in range(draw(st.integers(1, 2))):  # sometimes two user messages in a row
            if draw(st.booleans()):
                messages.append(user(text_content(draw)))
            else:
                parts = draw(
                    st.lists(
                        st.one_of(TEXT.map(lambda t: {"type": "text", "text": t}), st.builds(dict)),
                        min_size=1,
                        max_size=4,
                    )
                )
                messages.append(user([part or image_part(draw) for part in parts]))
        maybe_system()
        if not draw(st.booleans()):
            continue
        calls = [
            call(
                f"call_{draw(IDENT)}_{next(call_ids)}",
                draw(IDENT),
                json.dumps(draw(ARGS_STRATEGY)),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        empty = bool(calls) and draw(st.booleans())  # content null or "" beside tool calls
        content: Any = draw(st.sampled_from([None, ""])) if empty else text_content(draw)
        assistant: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            assistant["tool_calls"] = calls
        messages.append(assistant)
        for tool_call in calls:
            content = draw(st.text(max_size=20)) if draw(st.booleans()) else text_content(draw)
            messages.append({"role": "tool", "tool_call_id": tool_call["id"], "content": content})
    return {"model": "gpt-4o", "messages": messages}


def texts_of(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    return [part["text"] for part in content if part["type"] == "text"]


def meaning(body: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    """What a conversation says, whatever the message boundaries."""
    system: list[str] = []
    items: list[tuple[Any, ...]] = []
    for message in body["messages"]:
        role, content = message["role"], message.get("content")
        if role in ("system", "developer"):
            system.extend(text for text in texts_of(content) if text)
        elif role == "user":
            parts: list[dict[str, Any]] = (
                [{"type": "text", "text": content}] if isinstance(content, str) else content
            )
            for part in parts:
                if part["type"] == "text" and part["text"]:
                    items.append(("user", "text", part["text"]))
                elif part["type"] == "image_url":
                    items.append(("user", "image", part["image_url"]["url"]))
        elif role == "assistant":
            items.extend(("assistant", "text", text) for text in texts_of(content) if text)
            for tool_call in message.get("tool_calls") or ():
                function = tool_call["function"]
                arguments = json.loads(function["arguments"] or "{}")
                items.append(("assistant", "call", tool_call["id"], function["name"], arguments))
        elif role == "tool":
            items.append(("tool", message["tool_call_id"], "".join(texts_of(content))))
    return "\n\n".join(system), items


def to_openai(request: dict[str, Any]) -> dict[str, Any]:
    """The inverse translation, for the test only: one OpenAI message per Anthropic block."""
    messages: list[dict[str, Any]] = []
    if "system" in request:
        messages.append({"role": "system", "content": request["system"]})
    for turn in request["messages"]:
        for block in turn["content"]:
            if block["type"] == "text":
                messages.append({"role": turn["role"], "content": block["text"]})
            elif block["type"] == "image":
                source = block["source"]
                url = (
                    source["url"]
                    if source["type"] == "url"
                    else f"data:{source['media_type']};base64,{source['data']}"
                )
                messages.append(user([{"type": "image_url", "image_url": {"url": url}}]))
            elif block["type"] == "tool_use":
                tool_call = call(block["id"], block["name"], json.dumps(block["input"]))
                messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})
            else:
                assert block["type"] == "tool_result"
                content = block.get("content", "")
                messages.append(
                    {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content}
                )
    return {"messages": messages}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=conversations())
def test_a_conversation_keeps_its_meaning(body: dict[str, Any]) -> None:
    request = chat_request(body, "claude-x-1", max_tokens_default=512, stream=False)
    msgspec.json.encode(request)
    turns = request["messages"]
    assert turns[0]["role"] == "user"
    assert all(a["role"] != b["role"] for a, b in itertools.pairwise(turns))
    for turn in turns:
        assert turn["content"]
        for block in turn["content"]:
            assert block["type"] != "text" or block["text"]
            assert block["type"] != "tool_result" or turn["role"] == "user"
            assert block["type"] != "tool_use" or turn["role"] == "assistant"
    assert meaning(to_openai(request)) == meaning(body)


# (c) any sequence of events: chunks, or an UpstreamError, nothing else.

USAGE = st.dictionaries(
    st.sampled_from(
        ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]
    ),
    either(st.integers(0, 10**6)),
)
BLOCK = st.fixed_dictionaries(
    {"type": either(st.sampled_from(["text", "tool_use", "thinking", "server_tool_use"]))},
    optional={"text": JSON, "id": either(IDENT), "name": either(IDENT), "input": JSON},
)
DELTA = st.fixed_dictionaries(
    {
        "type": either(
            st.sampled_from(["text_delta", "input_json_delta", "thinking_delta", "signature_delta"])
        )
    },
    optional={
        "text": either(st.text(max_size=6)),
        "partial_json": either(st.text(max_size=6)),
        "stop_reason": either(st.sampled_from(["end_turn", "tool_use", "max_tokens", "refusal"])),
    },
)
EVENT_DATA = st.fixed_dictionaries(
    {},
    optional={
        "type": JSON,
        "index": either(st.integers(-1, 4)),
        "content_block": either(BLOCK),
        "delta": either(DELTA),
        "usage": either(USAGE),
        "message": either(st.fixed_dictionaries({}, optional={"usage": either(USAGE)})),
        "error": either(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": either(st.sampled_from(["overloaded_error", "rate_limit_error"])),
                    "message": JSON,
                },
            )
        ),
    },
) | st.dictionaries(st.text(max_size=8), JSON, max_size=4)
EVENT_NAMES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "",
        "surprise",
    ]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(st.tuples(EVENT_NAMES, EVENT_DATA), max_size=25),
    include_usage=st.booleans(),
)
def test_any_event_sequence_gives_chunks_or_an_upstream_error(
    events: list[tuple[str, dict[str, Any]]], include_usage: bool
) -> None:
    translator = StreamTranslator(
        model="m", created=1, completion_id="chatcmpl-x", include_usage=include_usage
    )
    chunks: list[dict[str, Any]] = []
    failure: UpstreamError | None = None
    for name, data in events:
        try:
            chunks.extend(translator.feed(name, data))
        except UpstreamError as error:
            failure = error
            break
    assert failure is None or failure.status in (429, 502, 503)
    msgspec.json.encode(chunks)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    indexes = sorted(assembled_calls(chunks))
    assert indexes == list(range(len(indexes)))
    assert translator.usage is None or isinstance(translator.usage, Usage)
    assert translator.output_chars >= 0


# (d) error bodies: never an exception.


@given(
    status=st.integers(0, 999),
    body=st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()),
)
def test_error_facts_never_raises(status: int, body: bytes) -> None:
    condition, message = error_facts(status, body)
    assert condition in Condition
    assert message


@given(message=st.dictionaries(st.text(max_size=10), JSON, max_size=6) | st.just(MESSAGE))
def test_chat_response_never_raises(message: dict[str, Any]) -> None:
    body, usage = chat_response(message, model="m", created=1)
    msgspec.json.encode(body)
    assert usage.input_tokens >= usage.cached_tokens >= 0
