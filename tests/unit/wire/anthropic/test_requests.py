"""OpenAI chat messages as a Messages API request: the system prompt, text and images, tool calls
and results, turns, and the messages that cannot be sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.wire.anthropic.support import PNG, call, refused, translate, user

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
