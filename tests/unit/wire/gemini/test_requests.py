"""OpenAI chat messages as Gemini contents: the system instruction, roles and turns, tool calls
and results, images, and the messages that cannot be sent."""

from __future__ import annotations

from typing import Any

import pytest

from infrastructure.adapters.providers.gemini_wire import (
    THOUGHT_SIGNATURE_SENTINEL,
    chat_request,
    http_image_urls,
)
from tests.unit.wire.gemini.support import CALL, PNG, USER, invalid, request

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
