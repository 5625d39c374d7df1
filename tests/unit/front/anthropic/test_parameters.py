"""A Messages API body's parameters as OpenAI chat options: sampling, tools and tool choice, and
the invalid ones refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from interfaces.http.anthropic.translate_request import messages_to_chat
from tests.unit.front.anthropic.support import TOOLS, body, refused, user

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
