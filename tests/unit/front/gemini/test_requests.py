"""Gemini requests → OpenAI chat, field by field: turns and tool calls, media, tools and tool
choice, generation settings, structured output and thinking; what only Gemini understands is a
400 naming it, unless the body goes to Gemini as it is (lenient)."""

from __future__ import annotations

from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from interfaces.http.gemini.translate_request import gemini_to_chat

PNG = "iVBORw0KGgo="


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


def model(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts)}


def chat(**body: Any) -> dict[str, Any]:
    return gemini_to_chat(body, model="m")


def test_turns_system_and_tool_calls_with_and_without_ids() -> None:
    out = chat(
        systemInstruction={"parts": [{"text": "be"}, {"text": "brief"}]},
        contents=[
            user({"text": "weather?"}),
            model(
                {"text": "let me see", "thought": True},
                {"functionCall": {"name": "search", "args": {"q": "Lyon"}}},
                {"functionCall": {"name": "lookup", "args": {}, "id": "given-1"}},
            ),
            user(
                {"functionResponse": {"name": "lookup", "id": "given-1", "response": {"r": 2}}},
                {"functionResponse": {"name": "search", "response": {"result": "sunny"}}},
                {"text": "thanks"},
            ),
        ],
    )
    assert out["messages"] == [
        {"role": "system", "content": "be\nbrief"},
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"q":"Lyon"}'},
                },
                {
                    "id": "given-1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "given-1", "content": '{"r":2}'},
        {"role": "tool", "tool_call_id": "call_1_1", "content": '{"result":"sunny"}'},
        {"role": "user", "content": "thanks"},
    ]


def test_media_parts_and_snake_case_names() -> None:
    out = gemini_to_chat(
        {
            "contents": [
                {
                    "parts": [
                        {"text": "what is this"},
                        {"inline_data": {"mime_type": "image/png", "data": PNG}},
                        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
                        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                        {"fileData": {"fileUri": "https://x.example/a.png"}},
                    ]
                }
            ],
            "generation_config": {"max_output_tokens": 9},
        },
        model="m",
    )
    assert out["max_tokens"] == 9
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {
            "type": "file",
            "file": {
                "filename": "document.pdf",
                "file_data": "data:application/pdf;base64,JVBERi0=",
            },
        },
        {"type": "image_url", "image_url": {"url": "https://x.example/a.png"}},
    ]


def test_generation_settings() -> None:
    out = chat(
        contents=[user({"text": "hi"})],
        generationConfig={
            "temperature": 0.3,
            "topP": 0.9,
            "topK": 40.0,
            "maxOutputTokens": 100,
            "candidateCount": 2,
            "stopSequences": ["END"],
            "presencePenalty": 0.5,
            "frequencyPenalty": -0.5,
            "seed": 7,
        },
    )
    assert {k: v for k, v in out.items() if k not in ("model", "messages")} == {
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 100,
        "n": 2,
        "stop": ["END"],
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "seed": 7,
    }
    streamed = gemini_to_chat({"contents": [user({"text": "hi"})]}, model="m", stream=True)
    assert streamed["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"responseMimeType": "application/json"}, {"type": "json_object"}),
        (
            {
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "OBJECT",
                    "properties": {"n": {"type": "INTEGER", "nullable": True}},
                    "required": ["n"],
                    "propertyOrdering": ["n"],
                },
            },
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "response",
                    "schema": {
                        "type": "object",
                        "properties": {"n": {"type": ["integer", "null"]}},
                        "required": ["n"],
                    },
                },
            },
        ),
        (
            {"responseMimeType": "application/json", "responseJsonSchema": {"type": "string"}},
            {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": {"type": "string"}},
            },
        ),
    ],
)
def test_structured_output(config: dict[str, Any], expected: dict[str, Any]) -> None:
    out = chat(contents=[user({"text": "hi"})], generationConfig=config)
    assert out["response_format"] == expected


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"thinkingLevel": "HIGH"}, "high"),
        ({"thinkingLevel": "low", "thinkingBudget": 99_999}, "low"),
        ({"thinkingBudget": 512}, "low"),
        ({"thinkingBudget": 4096}, "medium"),
        ({"thinkingBudget": 24_576, "includeThoughts": True}, "high"),
        ({"thinkingBudget": 0}, None),
        ({"thinkingBudget": -1}, None),
    ],
)
def test_thinking_becomes_a_reasoning_effort(thinking: dict[str, Any], effort: str | None) -> None:
    out = chat(contents=[user({"text": "hi"})], generationConfig={"thinkingConfig": thinking})
    assert out.get("reasoning_effort") == effort


SEARCH = {
    "name": "search",
    "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}},
}
LOOKUP = {"name": "lookup", "parametersJsonSchema": {"type": "object"}}


@pytest.mark.parametrize(
    ("calling", "choice", "offered"),
    [
        ({}, None, ["search", "lookup"]),
        ({"mode": "NONE"}, "none", ["search", "lookup"]),
        ({"mode": "ANY"}, "required", ["search", "lookup"]),
        (
            {"mode": "ANY", "allowedFunctionNames": ["lookup"]},
            {"type": "function", "function": {"name": "lookup"}},
            ["lookup"],
        ),
        (
            {"mode": "ANY", "allowedFunctionNames": ["lookup", "search"]},
            "required",
            ["search", "lookup"],
        ),
    ],
)
def test_tools_and_the_choice_of_tool(
    calling: dict[str, Any], choice: Any, offered: list[str]
) -> None:
    out = chat(
        contents=[user({"text": "hi"})],
        tools=[{"functionDeclarations": [SEARCH, LOOKUP]}],
        toolConfig={"functionCallingConfig": calling},
    )
    assert out.get("tool_choice") == choice
    assert [tool["function"]["name"] for tool in out["tools"]] == offered
    assert out["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {"q": {"type": "string"}},
    } or offered == ["lookup"]


GEMINI_ONLY = [
    ({"tools": [{"googleSearch": {}}]}, "tools[0].googleSearch"),
    ({"cachedContent": "cachedContents/abc"}, "cachedContent"),
    ({"contents": [user({"executableCode": {"code": "1"}})]}, "contents[0].parts[0]"),
    (
        {
            "contents": [
                user({"fileData": {"fileUri": "gs://b/c.pdf", "mimeType": "application/pdf"}})
            ]
        },
        "contents[0].parts[0].fileData.fileUri",
    ),
    (
        {"contents": [user({"inlineData": {"mimeType": "video/mp4", "data": "AA=="}})]},
        "contents[0].parts[0].inlineData.mimeType",
    ),
    (
        {"generationConfig": {"responseMimeType": "text/x.enum"}},
        "generationConfig.responseMimeType",
    ),
    (
        {"generationConfig": {"responseModalities": ["IMAGE"]}},
        "generationConfig.responseModalities",
    ),
    (
        {
            "contents": [
                user(
                    {
                        "functionResponse": {
                            "name": "f",
                            "response": {},
                            "parts": [{"inlineData": {}}],
                        }
                    }
                )
            ]
        },
        "contents[0].parts[0].functionResponse.parts",
    ),
]


@pytest.mark.parametrize(("extra", "param"), GEMINI_ONLY)
def test_what_only_gemini_understands_is_refused_unless_lenient(
    extra: dict[str, Any], param: str
) -> None:
    body = {"contents": [user({"text": "hi"})], **extra}
    with pytest.raises(InvalidRequest) as refused:
        gemini_to_chat(body, model="m")
    assert refused.value.param == param
    assert "model" in str(refused.value)
    lenient = gemini_to_chat(body, model="m", lenient=True)
    assert lenient["messages"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"contents": []}, "contents"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "contents[0].role"),
        ({"contents": [user({"thought": True, "text": "x"})]}, "contents"),
        (
            {"contents": [model({"functionCall": {"args": {}}})]},
            "contents[0].parts[0].functionCall.name",
        ),
        ({"contents": [user({"functionCall": {"name": "f"}})]}, "contents[0].parts[0]"),
        ({"contents": [user({"text": 5})]}, "contents[0].parts[0].text"),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"temperature": 2.5}},
            "generationConfig.temperature",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"stopSequences": ["a"] * 6}},
            "generationConfig.stopSequences",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"maxOutputTokens": 0}},
            "generationConfig.maxOutputTokens",
        ),
        (
            {
                "contents": [user({"text": "x"})],
                "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}},
            },
            "toolConfig.functionCallingConfig.mode",
        ),
        (
            {
                "contents": [user({"text": "x"})],
                "tools": [
                    {"functionDeclarations": [{"name": "f", "parameters": {"type": "TUPLE"}}]}
                ],
            },
            "tools[0].functionDeclarations[0].parameters.type",
        ),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    for lenient in (False, True):
        with pytest.raises(InvalidRequest) as refused:
            gemini_to_chat(body, model="m", lenient=lenient)
        assert refused.value.param == param
