"""The Anthropic Messages front: Anthropic request → OpenAI chat request, OpenAI answer (whole or
streamed) → Anthropic message and SSE events, gateway errors → Anthropic's error shape; the
official `anthropic` SDK reads what the front writes."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import string
from typing import Any

import anthropic
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_request import chat_request
from infrastructure.adapters.providers.anthropic_response import finish_reason
from interfaces.http.anthropic.translate_request import messages_to_chat
from interfaces.http.anthropic.translate_response import (
    chat_to_message,
    error_body,
    stop_reason,
)
from interfaces.http.anthropic.translate_stream import ChatChunksToEvents, encode_event

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


# --- messages_to_chat: messages ----------------------------------------------------------------


def test_a_plain_conversation() -> None:
    assert messages_to_chat(body([user("hi")])) == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 256,
    }


def test_a_system_string_becomes_a_leading_system_message() -> None:
    out = messages_to_chat(body([user("hi")], system="Be brief."))
    assert out["messages"][0] == {"role": "system", "content": "Be brief."}


def test_system_text_blocks_are_joined_and_cache_marks_dropped() -> None:
    system = [
        {"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}},
        text(""),
        text("Answer in English."),
    ]
    out = messages_to_chat(body([user("hi")], system=system))
    assert out["messages"][0] == {
        "role": "system",
        "content": "You are a coding agent.\n\nAnswer in English.",
    }
    assert messages_to_chat(body([user("hi")], system=""))["messages"][0]["role"] == "user"
    assert refused(body([user("hi")], system=[image_b64()])).param == "system[0].type"


def test_a_turn_of_text_blocks_becomes_a_string() -> None:
    out = messages_to_chat(body([user([text("one"), text("two")])]))
    assert out["messages"] == [{"role": "user", "content": "one\n\ntwo"}]


def test_images_make_a_list_of_content_parts() -> None:
    url_image = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}
    out = messages_to_chat(
        body([user([text("compare"), image_b64("image/webp"), url_image, text("please")])])
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "compare"},
                {"type": "image_url", "image_url": {"url": f"data:image/webp;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
                {"type": "text", "text": "please"},
            ],
        }
    ]


def test_assistant_tool_use_becomes_tool_calls_and_thinking_is_dropped() -> None:
    out = messages_to_chat(
        body(
            [
                user("weather?"),
                assistant(
                    [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "redacted_thinking", "data": "xx"},
                        text("Let me look."),
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "weather",
                            "input": {"city": "Zürich", "days": [1, 2]},
                        },
                        {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}},
                    ]
                ),
            ]
        )
    )
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Zürich","days":[1,2]}'},
            },
            {"id": "toolu_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
        ],
    }


def test_an_assistant_turn_of_tool_use_only_has_null_content() -> None:
    call = {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}
    out = messages_to_chat(body([user("go"), assistant([call])]))
    assert out["messages"][1]["content"] is None
    only_thinking = assistant([{"type": "thinking", "thinking": "x", "signature": "s"}])
    assert messages_to_chat(body([user("go"), only_thinking]))["messages"] == [
        {"role": "user", "content": "go"}
    ]


def test_tool_results_come_first_then_the_turns_images_and_text() -> None:
    turn = user(
        [
            text("Here you are."),
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [text("screenshot taken"), image_b64("image/jpeg", "AAAA")],
            },
            image_b64(),
        ]
    )
    out = messages_to_chat(body([user("go"), assistant("ok"), turn]))
    assert out["messages"][2:] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18°C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "screenshot taken"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Here you are."},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
    ]


def test_tool_result_text_blocks_errors_and_empty_content() -> None:
    turn = user(
        [
            {"type": "tool_result", "tool_use_id": "a", "content": [text("line 1"), text("2")]},
            {"type": "tool_result", "tool_use_id": "b", "content": "boom", "is_error": True},
            {"type": "tool_result", "tool_use_id": "c"},
            {"type": "tool_result", "tool_use_id": "d", "content": [], "is_error": True},
        ]
    )
    assert messages_to_chat(body([turn]))["messages"] == [
        {"role": "tool", "tool_call_id": "a", "content": "line 1\n\n2"},
        {"role": "tool", "tool_call_id": "b", "content": "Error: boom"},
        {"role": "tool", "tool_call_id": "c", "content": ""},
        {"role": "tool", "tool_call_id": "d", "content": "Error"},
    ]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (
            [user("a"), assistant("b"), user([{"type": "document", "source": {}}])],
            "messages[2].content[0].type",
        ),
        ([user([{"type": "search_result"}])], "messages[0].content[0].type"),
        (
            [user([{"type": "tool_use", "id": "x", "name": "f", "input": {}}])],
            "messages[0].content[0].type",
        ),
        ([assistant([image_b64()])], "messages[0].content[0].type"),
        (
            [user([{"type": "image", "source": {"type": "file", "file_id": "f"}}])],
            "messages[0].content[0].source.type",
        ),
        (
            [user([{"type": "image", "source": {"type": "base64", "data": "x"}}])],
            "messages[0].content[0].source.media_type",
        ),
        (
            [
                user(
                    [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "document"}]}]
                )
            ],
            "messages[0].content[0].content[0].type",
        ),
        ([user([{"type": "tool_result", "content": "x"}])], "messages[0].content[0].tool_use_id"),
        (
            [user([{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}])],
            "messages[0].content[0].is_error",
        ),
        (
            [assistant([{"type": "tool_use", "id": "x", "name": "f", "input": [1]}])],
            "messages[0].content[0].input",
        ),
        (
            [assistant([{"type": "tool_use", "name": "f", "input": {}}])],
            "messages[0].content[0].id",
        ),
        ([user([{"type": "text", "text": 3}])], "messages[0].content[0].text"),
        ([user(["hi"])], "messages[0].content[0]"),
        ([{"role": "system", "content": "x"}], "messages[0].role"),
        ([user(None)], "messages[0].content"),
        (["hi"], "messages[0]"),
        ([], "messages"),
    ],
)
def test_untranslatable_messages_are_refused_naming_the_param(
    messages: list[Any], param: str
) -> None:
    assert refused(body(messages)).param == param


# --- messages_to_chat: parameters --------------------------------------------------------------


def test_parameters_are_translated_and_anthropic_only_ones_dropped() -> None:
    tool = {
        "name": "weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        "cache_control": {"type": "ephemeral"},
    }
    out = messages_to_chat(
        body(
            [user("hi")],
            max_tokens=1000,
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["END", "STOP"],
            stream=True,
            metadata={"user_id": "u-42"},
            tools=[tool, {"type": "custom", "name": "noop", "input_schema": {}, "strict": True}],
            thinking={"type": "enabled", "budget_tokens": 2000},
            service_tier="auto",
            container="c",
            mcp_servers=[{"type": "url", "url": "https://mcp.test", "name": "m"}],
        )
    )
    assert out == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1000,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END", "STOP"],
        "user": "u-42",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather of a city",
                    "parameters": tool["input_schema"],
                },
            },
            {
                "type": "function",
                "function": {"name": "noop", "parameters": {}, "strict": True},
            },
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_stream_false_and_empty_lists_add_nothing() -> None:
    out = messages_to_chat(body([user("hi")], stream=False, stop_sequences=[], tools=[]))
    assert set(out) == {"model", "messages", "max_tokens"}


TOOLS = [{"name": "weather", "input_schema": {"type": "object"}}]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        (
            {"type": "tool", "name": "weather"},
            {"tool_choice": {"type": "function", "function": {"name": "weather"}}},
        ),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"tool_choice": "required", "parallel_tool_calls": False},
        ),
        (
            {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
            {
                "tool_choice": {"type": "function", "function": {"name": "weather"}},
                "parallel_tool_calls": False,
            },
        ),
        ({"type": "none", "disable_parallel_tool_use": True}, {"tool_choice": "none"}),
        ({"type": "auto", "disable_parallel_tool_use": False}, {"tool_choice": "auto"}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    out = messages_to_chat(body([user("hi")], tools=TOOLS, tool_choice=choice))
    assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


def test_tool_choice_without_tools() -> None:
    for choice in ({"type": "auto"}, {"type": "none"}):
        assert "tool_choice" not in messages_to_chat(body([user("hi")], tool_choice=choice))
    for choice in ({"type": "any"}, {"type": "tool", "name": "f"}):
        assert refused(body([user("hi")], tool_choice=choice)).param == "tool_choice"


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ({"max_tokens": 1, "messages": [user("hi")]}, "model"),
        ({"model": "", "max_tokens": 1, "messages": [user("hi")]}, "model"),
        ({"model": 7, "max_tokens": 1, "messages": [user("hi")]}, "model"),
        ({"model": "m", "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": 0, "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": True, "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": "100", "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": 1.5, "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": 1}, "messages"),
        ({"model": "m", "max_tokens": 1, "messages": {}}, "messages"),
        (body([user("hi")], temperature="hot"), "temperature"),
        (body([user("hi")], temperature=1.5), "temperature"),
        (body([user("hi")], top_p=-0.1), "top_p"),
        (body([user("hi")], stop_sequences="END"), "stop_sequences"),
        (body([user("hi")], stream="yes"), "stream"),
        (body([user("hi")], metadata="x"), "metadata"),
        (body([user("hi")], metadata={"user_id": 5}), "metadata.user_id"),
        (body([user("hi")], system=5), "system"),
        (body([user("hi")], tools={}), "tools"),
        (body([user("hi")], tools=[{"name": "f"}]), "tools[0].input_schema"),
        (body([user("hi")], tools=[{"input_schema": {}}]), "tools[0].name"),
        (
            body([user("hi")], tools=[{"type": "web_search_20250305", "name": "web_search"}]),
            "tools[0].type",
        ),
        (body([user("hi")], tools=TOOLS, tool_choice="auto"), "tool_choice"),
        (body([user("hi")], tools=TOOLS, tool_choice={"type": "some"}), "tool_choice.type"),
        (body([user("hi")], tools=TOOLS, tool_choice={"type": "tool"}), "tool_choice.name"),
        (
            body(
                [user("hi")],
                tools=TOOLS,
                tool_choice={"type": "auto", "disable_parallel_tool_use": 1},
            ),
            "tool_choice.disable_parallel_tool_use",
        ),
    ],
)
def test_invalid_parameters_are_refused_naming_the_param(
    request_body: dict[str, Any], param: str
) -> None:
    error = refused(request_body)
    assert error.param == param
    assert param in str(error) or "type `" in str(error)


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert refused([1, 2]).param is None


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


def test_a_completion_with_text_and_tool_calls() -> None:
    reply = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
            {"id": "call_3", "type": "function", "function": {"name": "bad", "arguments": "{no"}},
        ],
    }
    assert chat_to_message(completion(reply, "tool_calls"), model="gpt-x") == {
        "id": "msg_chatcmpl-abc",
        "type": "message",
        "role": "assistant",
        "model": "gpt-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
            {"type": "tool_use", "id": "call_3", "name": "bad", "input": {"_raw": "{no"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 70,
            "output_tokens": 20,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 0,
        },
    }


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_stop_reasons(finish: str | None, stop: str) -> None:
    message = chat_to_message(completion({"content": "x"}, finish), model="m")
    assert message["stop_reason"] == stop


@pytest.mark.parametrize("finish", ["stop", "length", "tool_calls", "content_filter"])
def test_stop_reasons_round_trip_with_the_upstream_direction(finish: str) -> None:
    assert finish_reason(stop_reason(finish)) == finish


def test_an_empty_or_odd_completion_still_makes_a_message() -> None:
    message = chat_to_message({"choices": [], "usage": None}, model="m")
    assert message["content"] == []
    assert message["id"].startswith("msg_")
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    refusal = completion({"content": None, "refusal": "I can't."}, "content_filter", id="msg_1")
    assert chat_to_message(refusal, model="m")["content"] == [text("I can't.")]
    assert chat_to_message(refusal, model="m")["id"] == "msg_1"


@pytest.mark.parametrize(
    ("status", "sent", "kind"),
    [
        (400, 400, "invalid_request_error"),
        (401, 401, "authentication_error"),
        (403, 403, "permission_error"),
        (404, 404, "not_found_error"),
        (409, 409, "invalid_request_error"),
        (413, 413, "request_too_large"),
        (422, 422, "invalid_request_error"),
        (429, 429, "rate_limit_error"),
        (500, 500, "api_error"),
        (502, 502, "api_error"),
        (503, 529, "overloaded_error"),
        (504, 504, "timeout_error"),
        (529, 529, "overloaded_error"),
        (200, 500, "api_error"),
    ],
)
def test_error_bodies(status: int, sent: int, kind: str) -> None:
    assert error_body(status, "nope") == (
        sent,
        {"type": "error", "error": {"type": kind, "message": "nope"}},
    )


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


# --- the official SDK reads what the front writes ----------------------------------------------


def sdk_client(answer: httpx2.Response, seen: list[httpx2.Request]) -> anthropic.Anthropic:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answer

    return anthropic.Anthropic(
        api_key="sk-test",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )


def test_the_sdk_streams_the_translated_events() -> None:
    sse = b"".join(encode_event(name, data) for name, data in translate_stream(REALISTIC))
    seen: list[httpx2.Request] = []
    answer = httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    client = sdk_client(answer, seen)
    with client.messages.stream(
        model="gpt-x", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert seen[0].url.path == "/v1/messages"
    assert streamed_text == "Let me check the weather."
    assert final.id == "msg_req1"
    assert final.model == "gpt-x"
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["text", "tool_use"]
    said = final.content[0]
    assert said.type == "text"
    assert said.text == "Let me check the weather."
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_abc", "weather", {"city": "Paris", "days": 3})
    assert final.usage.input_tokens == 42
    assert final.usage.output_tokens == 12
    assert final.usage.cache_read_input_tokens == 8


def test_the_sdk_raises_on_a_translated_stream_error() -> None:
    translator = ChatChunksToEvents(model="gpt-x", message_id="msg_1")
    events = translator.feed(chunk({"content": "par"}))
    events += translator.feed({"error": {"message": "upstream timed out", "type": "timeout"}})
    sse = b"".join(encode_event(name, data) for name, data in events)
    answer = httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    client = sdk_client(answer, [])
    with (
        pytest.raises(anthropic.APIStatusError, match="upstream timed out"),
        client.messages.stream(
            model="gpt-x", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        stream.get_final_message()


def test_the_sdk_reads_a_translated_message() -> None:
    reply = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    message = chat_to_message(completion(reply, "tool_calls"), model="gpt-x")
    answer = httpx2.Response(200, json=message)
    client = sdk_client(answer, [])
    created = client.messages.create(
        model="gpt-x", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    )
    assert created.id == "msg_chatcmpl-abc"
    assert created.stop_reason == "tool_use"
    said = created.content[0]
    assert said.type == "text"
    assert said.text == "Checking."
    tool = created.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "weather", {"city": "Paris"})
    assert (created.usage.input_tokens, created.usage.cache_read_input_tokens) == (70, 30)


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (404, anthropic.NotFoundError),
        (429, anthropic.RateLimitError),
        (503, anthropic.InternalServerError),
    ],
)
def test_the_sdk_reads_translated_errors(status: int, exception: type[Exception]) -> None:
    sent, error = error_body(status, "it failed")
    client = sdk_client(httpx2.Response(sent, json=error), [])
    with pytest.raises(exception) as caught:
        client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.status_code == sent
    assert caught.value.body == error


# --- properties --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
block_types = st.sampled_from(
    ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document"]
)
near_blocks: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"type": block_types},
    optional={
        "text": json_values,
        "source": st.fixed_dictionaries(
            {"type": st.sampled_from(["base64", "url", "file"]) | json_values},
            optional={"media_type": json_values, "data": json_values, "url": json_values},
        )
        | json_values,
        "id": json_values,
        "name": json_values,
        "input": json_values,
        "tool_use_id": json_values,
        "content": json_values | st.lists(st.deferred(lambda: near_blocks), max_size=3),
        "is_error": json_values,
    },
)
# Mostly valid model and max_tokens, so that the messages and parameters get read too.
near_bodies = st.fixed_dictionaries(
    {"model": st.just("m"), "max_tokens": st.integers(1, 5)},
    optional={
        "messages": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "role": st.sampled_from(["user", "assistant", "system"]) | json_values,
                    "content": st.text(max_size=5)
                    | st.lists(near_blocks, max_size=4)
                    | json_values,
                },
            ),
            max_size=4,
        )
        | json_values,
        "system": json_values | st.lists(near_blocks, max_size=2),
        "temperature": json_values,
        "top_p": json_values,
        "stop_sequences": json_values,
        "stream": json_values,
        "metadata": json_values,
        "tools": json_values | st.lists(json_values, max_size=2),
        "tool_choice": json_values
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["auto", "any", "tool", "none"]) | json_values},
            optional={"name": json_values, "disable_parallel_tool_use": json_values},
        ),
    },
)


# A generated Anthropic conversation → OpenAI → Anthropic again (the upstream translator) keeps
# its meaning.

words = st.text(string.ascii_letters + string.digits + " .,!?é\n", min_size=1, max_size=12)
images = st.one_of(
    st.builds(
        image_b64,
        st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
        st.text(string.ascii_letters + string.digits + "+/", min_size=4, max_size=12),
    ),
    st.builds(
        lambda path: {
            "type": "image",
            "source": {"type": "url", "url": f"https://img.test/{path}"},
        },
        st.text(string.ascii_lowercase, min_size=1, max_size=8),
    ),
)
inputs = st.dictionaries(
    st.text(string.ascii_lowercase, min_size=1, max_size=5),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | words,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
        max_leaves=8,
    ),
    max_size=4,
)


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    system = draw(st.none() | words | st.lists(words.map(text), max_size=3))
    media = st.lists(st.one_of(words.map(text), images), min_size=1, max_size=4)
    messages: list[dict[str, Any]] = [user(draw(words | media))]
    for turn in range(draw(st.integers(0, 3))):
        calls = [
            {
                "type": "tool_use",
                "id": f"toolu_{turn}_{k}",
                "name": draw(words.filter(str.strip)),
                "input": draw(inputs),
            }
            for k in range(draw(st.integers(0, 2)))
        ]
        said = draw(st.lists(words.map(text), min_size=0 if calls else 1, max_size=2))
        messages.append(assistant(said + calls))
        results = [
            {
                "type": "tool_result",
                "tool_use_id": call["id"],
                "content": draw(
                    st.none() | words | st.lists(st.one_of(words.map(text), images), max_size=3)
                ),
                "is_error": draw(st.booleans()),
            }
            for call in calls
        ]
        extra = draw(
            st.lists(st.one_of(words.map(text), images), min_size=0 if results else 1, max_size=2)
        )
        blocks = draw(st.permutations(results + extra)) if draw(st.booleans()) else results + extra
        messages.append(user(blocks))
    return body(messages, system=system) if system is not None else body(messages)


def image_meaning(block: dict[str, Any]) -> tuple[str, ...]:
    source = block["source"]
    if source["type"] == "base64":
        return ("image", source["media_type"], source["data"])
    return ("image", source["url"])


def merged(items: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Adjacent texts as one, joined with a blank line (how the front joins a turn's texts)."""
    out: list[tuple[str, ...]] = []
    for item in items:
        if item[0] == "text" and out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + "\n\n" + item[1])
        else:
            out.append(item)
    return out


def meaning(turn: dict[str, Any]) -> tuple[str, list[Any], list[tuple[str, ...]]]:
    """(role, tool results and tool uses in order, texts and images in order)."""
    content = turn["content"]
    blocks = [text(content)] if isinstance(content, str) else content
    tools: list[Any] = []
    items: list[tuple[str, ...]] = []
    for block in blocks:
        if block["type"] == "text":
            items.append(("text", block["text"]))
        elif block["type"] == "image":
            items.append(image_meaning(block))
        elif block["type"] == "tool_use":
            tools.append(("tool_use", block["id"], block["name"], block["input"]))
        elif block["type"] == "tool_result":
            result = block.get("content")
            parts = [text(result)] if isinstance(result, str) else result or []
            said = "\n\n".join(p["text"] for p in parts if p["type"] == "text" and p["text"])
            if block.get("is_error"):
                said = f"Error: {said}" if said else "Error"
            tools.append(("tool_result", block["tool_use_id"], said or None))
            items.extend(image_meaning(p) for p in parts if p["type"] == "image")
    return turn["role"], tools, merged(items)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_a_conversation_survives_the_round_trip_through_openai(
    conversation: dict[str, Any],
) -> None:
    chat = messages_to_chat(conversation)
    back = chat_request(chat, "claude-x", max_tokens_default=1, stream=False)
    system = conversation.get("system")
    texts = [system] if isinstance(system, str) else [b["text"] for b in system or []]
    assert back.get("system", "") == "\n\n".join(t for t in texts if t)
    assert back["max_tokens"] == conversation["max_tokens"]
    assert [meaning(turn) for turn in back["messages"]] == [
        meaning(turn) for turn in conversation["messages"]
    ]


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with parameters, then one value somewhere in it replaced by junk (or
    one key removed)."""
    request = draw(conversations())
    request.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "temperature": st.floats(0, 1),
                    "stop_sequences": st.lists(words, max_size=2),
                    "stream": st.booleans(),
                    "metadata": st.just({"user_id": "u-1"}),
                    "tools": st.just(copy.deepcopy(TOOLS)),
                    "tool_choice": st.sampled_from(
                        [{"type": "any"}, {"type": "tool", "name": "weather"}]
                    ),
                },
            )
        )
    )
    node: Any = request
    while True:
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child
        elif isinstance(node, dict) and draw(st.integers(0, 3)) == 0:
            del node[key]
            return request
        else:
            node[key] = draw(json_values | near_blocks)
            return request


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, near_bodies, mutated_bodies()))
def test_any_body_translates_or_raises_invalid_request_only(request_body: Any) -> None:
    with contextlib.suppress(InvalidRequest):  # any other exception fails
        out = messages_to_chat(request_body)
        assert out["model"] == request_body["model"]
        assert out["messages"]
        json.dumps(out)


# Arbitrary chunk sequences still give a valid Anthropic event sequence.


def mostly(likely: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`likely` about four times in five, else `junk`."""
    return st.integers(0, 4).flatmap(lambda n: junk if n == 0 else likely)


tool_call_pieces = st.fixed_dictionaries(
    {
        "function": mostly(
            st.fixed_dictionaries(
                {}, optional={"name": words, "arguments": mostly(words, json_values)}
            ),
            json_values,
        )
    },
    optional={
        "index": mostly(st.integers(0, 2), json_values),
        "id": mostly(st.sampled_from(["call_a", "call_b", "call_c"]), json_values),
        "type": st.just("function"),
    },
)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": mostly(words, st.just("") | json_values),
        "refusal": st.none() | words,
        "tool_calls": mostly(st.lists(tool_call_pieces, max_size=2), json_values),
    },
)
finishes = mostly(st.none(), st.sampled_from(["stop", "length", "tool_calls"]) | json_values)
choice_lists = st.lists(
    st.fixed_dictionaries(
        {"delta": mostly(deltas, json_values), "finish_reason": finishes},
        optional={"index": mostly(st.just(0), st.integers(0, 1) | json_values)},
    ),
    max_size=2,
)
usages = st.none() | st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 99) | json_values, "completion_tokens": st.integers(0, 99)},
    optional={
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": st.integers(0, 200)})
        | json_values
    },
)
content_chunks = st.fixed_dictionaries({"choices": choice_lists}, optional={"usage": usages})
chunks = mostly(
    content_chunks,
    st.fixed_dictionaries({"choices": json_values}, optional={"usage": usages})
    | st.builds(lambda usage: {"choices": [], "usage": usage}, usages)
    | st.builds(lambda error: {"error": error}, json_values.filter(lambda e: e is not None))
    | json_values,
)


def assert_valid_sequence(events: list[tuple[str, dict[str, Any]]]) -> None:
    names = [name for name, _ in events]
    for name, data in events:
        assert data["type"] == name
        assert encode_event(name, data).startswith(f"event: {name}\ndata: {{".encode())
    if "error" in names:
        assert names.index("error") == len(names) - 1
        names, events = names[:-1], events[:-1]
        assert "message_stop" not in names
    else:
        assert names[0] == "message_start"
        assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("message_start") <= 1
    assert names.count("message_delta") <= 1
    assert names.count("ping") <= 1
    if names:
        assert names[0] == "message_start"
    open_index: int | None = None
    next_index = 0
    for position, (name, data) in enumerate(events):
        if name == "content_block_start":
            assert open_index is None
            assert data["index"] == next_index
            open_index = next_index
            next_index += 1
        elif name == "ping":
            assert names[position - 1] == "content_block_start"
            assert names.index("content_block_start") == position - 1
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop"):
            assert open_index is None
    if "message_stop" in names:
        assert open_index is None


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chunks, max_size=12))
def test_any_chunk_sequence_gives_a_valid_event_sequence(chunk_list: list[Any]) -> None:
    translator = ChatChunksToEvents(model="m", message_id="msg_1")
    events = [event for c in chunk_list for event in translator.feed(c)]
    events += translator.finish()
    assert translator.done
    assert_valid_sequence(events)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=6), st.lists(words, max_size=6))
def test_streamed_text_and_arguments_reassemble(
    texts: list[str], argument_pieces: list[str]
) -> None:
    chunks_in = [chunk({"content": t}) for t in texts]
    if argument_pieces:
        chunks_in.append(piece(argument_pieces[0], id="call_1", name="f"))
        chunks_in += [piece(p) for p in argument_pieces[1:]]
    events = translate_stream([*chunks_in, chunk({}, "stop"), USAGE_CHUNK])
    assert_valid_sequence(events)
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert "".join(d.get("text", "") for d in deltas) == "".join(texts)
    assert "".join(d.get("partial_json", "") for d in deltas) == "".join(argument_pieces)
