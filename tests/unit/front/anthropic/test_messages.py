"""A Messages API body's messages as OpenAI chat messages: system prompts, text and images, tool
use and tool results, and the messages that cannot be translated."""

from __future__ import annotations

from typing import Any

import pytest

from interfaces.http.anthropic.translate_request import messages_to_chat
from tests.unit.front.anthropic.support import PNG, assistant, body, image_b64, refused, text, user

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
