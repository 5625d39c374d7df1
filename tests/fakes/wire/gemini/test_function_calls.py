"""Function calls, JSON mode, calling modes, streamed calls and the turn after a function
response."""

from __future__ import annotations

import json

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.wire.gemini.support import (
    CONTENTS,
    EXPECTED_TEXT,
    LOOKUP,
    MODEL,
    QUESTION,
    SEARCH,
    answered,
    generate_config,
)

# -- function calling -----------------------------------------------------------------------------


def test_function_call_plain(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=generate_config(tools=[types.Tool(function_declarations=[SEARCH, LOOKUP])]),
    )
    calls = response.function_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].name == "search"
    assert calls[0].args == {"query": QUESTION}
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == len(
        json.dumps({"query": QUESTION}, separators=(",", ":")).split()
    )


def test_json_mode_answers_json_its_response_schema_accepts(client: genai.Client) -> None:
    schema = types.Schema(
        type=types.Type.OBJECT,
        properties={
            "title": types.Schema(type=types.Type.STRING),
            "nights": types.Schema(type=types.Type.INTEGER),
            "kind": types.Schema(type=types.Type.STRING, format="enum", enum=["city", "sea"]),
            "stops": types.Schema(
                type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING)
            ),
        },
    )
    config = generate_config(response_mime_type="application/json", response_schema=schema)
    response = client.models.generate_content(model=MODEL, contents=CONTENTS, config=config)
    assert json.loads(response.text or "") == {
        "title": QUESTION,
        "nights": len(QUESTION.split()),
        "kind": "city",
        "stops": [QUESTION],
    }
    free = generate_config(response_mime_type="application/json")
    answer = client.models.generate_content(model=MODEL, contents=CONTENTS, config=free)
    assert json.loads(answer.text or "") == {"query": QUESTION}


def test_function_call_modes(client: genai.Client) -> None:
    tools = [types.Tool(function_declarations=[SEARCH, LOOKUP])]
    forced = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=generate_config(
            tools=tools,
            tool_config=types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["lookup"]
                )
            ),
        ),
    )
    assert forced.function_calls is not None
    assert forced.function_calls[0].name == "lookup"

    none = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=generate_config(
            tools=tools,
            tool_config=types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.NONE
                )
            ),
        ),
    )
    assert none.function_calls is None
    assert none.text == EXPECTED_TEXT


def test_function_call_streamed(client: genai.Client) -> None:
    config = generate_config(tools=[types.Tool(function_declarations=[SEARCH])])
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents=CONTENTS, config=config)
    )
    assert len(chunks) == 1  # a functionCall arrives whole
    (chunk,) = chunks
    assert chunk.function_calls is not None
    assert chunk.function_calls[0].name == "search"
    assert chunk.function_calls[0].args == {"query": QUESTION}
    assert chunk.candidates is not None
    assert chunk.candidates[0].finish_reason == types.FinishReason.STOP
    assert chunk.usage_metadata is not None
    assert chunk.usage_metadata.total_token_count is not None


def test_function_response_turn_is_answered_with_text(client: genai.Client) -> None:
    config = generate_config(tools=[types.Tool(function_declarations=[SEARCH])])
    result = client.models.generate_content(
        model=MODEL, contents=answered({"result": "Sunny, 21 C"}), config=config
    )
    assert result.function_calls is None
    assert result.text == "Echo: Sunny, 21 C"

    structured = client.models.generate_content(
        model=MODEL, contents=answered({"temp": 21, "sky": "clear"}), config=config
    )
    assert structured.text == 'Echo: {"temp":21,"sky":"clear"}'


def test_function_response_must_follow_a_function_call(client: genai.Client) -> None:
    orphan = [
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="search", response={"result": "x"})],
        )
    ]
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=orphan)
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert "immediately after a function call turn" in (info.value.message or "")

    wrong_name = answered({"result": "x"})
    assert wrong_name[2].parts is not None
    wrong_name[2].parts[0] = types.Part.from_function_response(name="other", response={})
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=wrong_name)
    assert info.value.code == 400
    assert "other" in (info.value.message or "")
