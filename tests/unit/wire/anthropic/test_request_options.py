"""OpenAI chat options as Messages API parameters: sampling, max tokens, stops, response formats,
tools and tool choice, and the parameters that have no Anthropic meaning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.wire.anthropic.support import refused, translate, user

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
