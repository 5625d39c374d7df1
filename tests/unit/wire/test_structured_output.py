"""`response_format` on Claude (a forced answer tool, given back as content) and on Gemini
(`responseMimeType` / `responseSchema`): requests, whole answers and streams."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers import gemini_wire
from infrastructure.adapters.providers.anthropic_wire import (
    StreamTranslator,
    chat_response,
    structured_chat_request,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "stops": {"type": "array", "items": {"$ref": "#/$defs/Stop"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["title", "stops", "note"],
    "additionalProperties": False,
    "$defs": {
        "Stop": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}},
            "required": ["city", "nights"],
            "additionalProperties": False,
        }
    },
}
TRIP = {"type": "json_schema", "json_schema": {"name": "Trip", "schema": SCHEMA, "strict": True}}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}


def claude(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    body = {"messages": [{"role": "user", "content": "plan"}], **body}
    return structured_chat_request(body, "claude-x", max_tokens_default=100, stream=False)


# --- Claude: the request ----------------------------------------------------------------------


def test_json_schema_is_a_forced_tool_taking_the_schema() -> None:
    out, answer = claude({"response_format": TRIP})
    assert answer == "Trip"
    assert out["tools"] == [
        {
            "name": "Trip",
            "description": "Answer by calling this tool: its input is your whole answer.",
            "input_schema": SCHEMA,
        }
    ]
    assert out["tool_choice"] == {"type": "tool", "name": "Trip"}


def test_json_object_is_a_forced_tool_taking_any_object() -> None:
    out, answer = claude({"response_format": {"type": "json_object"}})
    assert answer == "json_object"
    assert out["tools"][0]["input_schema"] == {"type": "object"}
    assert out["tool_choice"] == {"type": "tool", "name": "json_object"}


def test_text_format_adds_nothing() -> None:
    out, answer = claude({"response_format": {"type": "text"}})
    assert answer is None
    assert "tools" not in out


def test_with_tools_claude_must_call_one_of_them_or_the_answer_tool() -> None:
    out, answer = claude({"response_format": TRIP, "tools": [SEARCH], "parallel_tool_calls": False})
    assert answer == "Trip"
    assert [tool["name"] for tool in out["tools"]] == ["search", "Trip"]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_with_tools_switched_off_the_answer_tool_is_forced() -> None:
    out, answer = claude({"response_format": TRIP, "tools": [SEARCH], "tool_choice": "none"})
    assert answer == "Trip"
    assert out["tool_choice"] == {"type": "tool", "name": "Trip"}


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "search"}}]
)
def test_a_forced_tool_call_comes_first(choice: Any) -> None:
    out, answer = claude({"response_format": TRIP, "tools": [SEARCH], "tool_choice": choice})
    assert answer is None
    assert [tool["name"] for tool in out["tools"]] == ["search"]


def test_an_answer_tool_named_like_a_tool_is_refused() -> None:
    clash = {"type": "json_schema", "json_schema": {"name": "search", "schema": SCHEMA}}
    with pytest.raises(InvalidRequest) as caught:
        claude({"response_format": clash, "tools": [SEARCH]})
    assert caught.value.param == "response_format.json_schema.name"


# --- Claude: the answer -----------------------------------------------------------------------

ANSWER = {"title": "Lyon", "stops": [{"city": "Lyon", "nights": 2}], "note": None}


def test_the_answer_tool_call_is_the_content() -> None:
    message = {
        "id": "msg_1",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "Trip", "input": ANSWER}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    out, _ = chat_response(message, model="claude", created=1, answer_tool="Trip")
    choice = out["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]
    assert json.loads(choice["message"]["content"]) == ANSWER


def test_a_call_of_another_tool_stays_a_tool_call() -> None:
    message = {
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "x"}}],
        "stop_reason": "tool_use",
    }
    out, _ = chat_response(message, model="claude", created=1, answer_tool="Trip")
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"][0]["function"]["name"] == "search"


def stream(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    translator = StreamTranslator(
        model="claude",
        created=1,
        completion_id="chatcmpl-1",
        include_usage=False,
        answer_tool="Trip",
    )
    return [chunk for name, data in events for chunk in translator.feed(name, data)]


def answer_events(pieces: list[str], tool: str = "Trip") -> list[tuple[str, dict[str, Any]]]:
    block = {"type": "tool_use", "id": "toolu_1", "name": tool, "input": {}}
    return [
        ("message_start", {"message": {"usage": {"input_tokens": 1}}}),
        ("content_block_start", {"index": 0, "content_block": block}),
        *(
            (
                "content_block_delta",
                {"index": 0, "delta": {"type": "input_json_delta", "partial_json": p}},
            )
            for p in pieces
        ),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        ("message_stop", {}),
    ]


def streamed(chunks: list[dict[str, Any]]) -> tuple[str, list[Any], str | None]:
    text, calls, finish = "", [], None
    for chunk in chunks:
        for choice in chunk["choices"]:
            text += choice["delta"].get("content") or ""
            calls += choice["delta"].get("tool_calls") or []
            finish = choice["finish_reason"] or finish
    return text, calls, finish


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    value=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_any_answer_streams_as_content_in_any_pieces(
    value: dict[str, Any], cuts: list[int]
) -> None:
    """Property: however Claude splits the answer's JSON, the content deltas join to it, no tool
    call is shown, and the stream finishes with "stop"."""
    encoded = json.dumps(value)
    bounds = sorted({0, len(encoded), *(min(c, len(encoded)) for c in cuts)})
    pieces = [encoded[a:b] for a, b in itertools.pairwise(bounds)]
    text, calls, finish = streamed(stream(answer_events(pieces)))
    assert json.loads(text) == value
    assert (calls, finish) == ([], "stop")


def test_an_answer_without_input_streams_an_empty_object() -> None:
    assert streamed(stream(answer_events([]))) == ("{}", [], "stop")


def test_a_streamed_call_of_another_tool_stays_a_tool_call() -> None:
    text, calls, finish = streamed(stream(answer_events(['{"q": 1}'], tool="search")))
    assert (text, finish) == ("", "tool_calls")
    assert calls[0]["function"]["name"] == "search"


# --- Gemini -----------------------------------------------------------------------------------


def gemini(response_format: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": "plan"}], "response_format": response_format}
    return gemini_wire.chat_request(body, fetched_images={})["generationConfig"]  # type: ignore[no-any-return]


def test_gemini_strict_json_schema_is_converted() -> None:
    stop = {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}, "nights": {"type": "INTEGER"}},
        "required": ["city", "nights"],
    }
    assert gemini(TRIP) == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {
                "title": {"type": "STRING"},
                "stops": {"type": "ARRAY", "items": stop},
                "note": {"type": "STRING", "nullable": True},
            },
            "required": ["title", "stops", "note"],
        },
    }


def test_gemini_json_object_is_json_mode() -> None:
    assert gemini({"type": "json_object"}) == {"responseMimeType": "application/json"}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"next": {"$ref": "#"}}},
        {
            "$ref": "#/$defs/Node",
            "$defs": {"Node": {"properties": {"n": {"$ref": "#/$defs/Node"}}}},
        },
        {"type": "tuple"},
    ],
)
def test_gemini_schemas_it_cannot_say_are_a_400(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        gemini({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert caught.value.param == "response_format.json_schema.schema"
