"""OpenAI chat options as Gemini's generation config: sampling, stops, response formats and JSON
schemas, tools and tool choice, and the options that cannot be translated."""

from __future__ import annotations

from typing import Any

import pytest

from infrastructure.adapters.providers.gemini_wire import chat_request
from tests.unit.wire.gemini.support import USER, invalid, request

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


@pytest.mark.parametrize(
    ("effort", "budget"),
    [
        ("minimal", 1024),
        ("low", 1024),
        ("medium", 8192),
        ("high", 24576),
        ("xhigh", 24576),
        ("max", 24576),
    ],
)
def test_reasoning_effort_is_a_thinking_budget_with_thought_summaries(
    effort: str, budget: int
) -> None:
    config = request(reasoning_effort=effort)["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": budget, "includeThoughts": True}}


@pytest.mark.parametrize("effort", ["maximal", ["high"], {"level": "high"}, 3, True])
def test_an_unknown_reasoning_effort_is_refused(effort: Any) -> None:
    assert invalid({"messages": [USER], "reasoning_effort": effort}).param == "reasoning_effort"


def test_reasoning_effort_none_turns_thinking_off() -> None:
    config = request(reasoning_effort="none")["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": 0}}


@pytest.mark.parametrize(("most", "budget"), [(4000, 2000), (200, 128), (100_000, 24576)])
def test_the_budget_keeps_half_the_output_limit_for_the_answer(most: int, budget: int) -> None:
    config = request(reasoning_effort="high", max_tokens=most)["generationConfig"]
    assert config["thinkingConfig"]["thinkingBudget"] == budget
    assert config["maxOutputTokens"] == most


@pytest.mark.parametrize(
    ("effort", "level"),
    [("none", "low"), ("minimal", "low"), ("low", "low"), ("medium", "high"), ("high", "high")],
)
def test_gemini_3_models_take_a_thinking_level(effort: str, level: str) -> None:
    body = {"messages": [USER], "reasoning_effort": effort}
    for model in ("gemini-3-pro-preview", "models/gemini-3-flash"):
        config = chat_request(body, fetched_images={}, model=model)["generationConfig"]
        assert config == {"thinkingConfig": {"thinkingLevel": level, "includeThoughts": True}}


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
        ("reasoning_effort", "extreme"),
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
