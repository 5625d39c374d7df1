"""Legacy `functions` / `function_call`: said with tools for Claude and Gemini, answered as
`function_call` (whole and streamed)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers import anthropic_wire, gemini_wire
from infrastructure.adapters.providers.legacy_functions import (
    LegacyChunks,
    legacy_reply,
    uses_legacy_functions,
    with_tools,
)

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
ARGUMENTS = st.dictionaries(NAMES, st.integers() | TEXT, max_size=3).map(json.dumps)


def functions_of(names: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}
        for name in names
    ]


@given(names=st.lists(NAMES, min_size=1, max_size=4, unique=True), data=st.data())
def test_functions_and_function_call_become_tools_and_tool_choice(
    names: list[str], data: st.DataObject
) -> None:
    """Property: each function is a function tool; "none"/"auto" stay, {name} names the tool,
    and a legacy request asks for one call at a time."""
    choice = data.draw(st.sampled_from(["none", "auto", None, *({"name": n} for n in names)]))
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "x"}]}
    body["functions"] = functions_of(names)
    if choice is not None:
        body["function_call"] = choice
    out = with_tools(body)
    assert "functions" not in out
    assert "function_call" not in out
    assert out["tools"] == [{"type": "function", "function": f} for f in functions_of(names)]
    assert out["parallel_tool_calls"] is False
    expected = (
        {"type": "function", "function": {"name": choice["name"]}}
        if isinstance(choice, dict)
        else choice
    )
    assert out.get("tool_choice") == expected
    assert uses_legacy_functions(body)
    assert not uses_legacy_functions(out)


def test_a_request_without_legacy_fields_is_left_as_it_is() -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "tools": []}
    assert with_tools(body) is body


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"functions": [{"name": "f"}], "tools": []}, "functions"),
        ({"function_call": "auto", "tool_choice": "auto"}, "function_call"),
        ({"function_call": "required"}, "function_call"),
        ({"function_call": {"name": ""}}, "function_call"),
        ({"functions": "f"}, "functions"),
        ({"functions": ["f"]}, "functions[0]"),
    ],
)
def test_malformed_legacy_fields(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        with_tools({"messages": [{"role": "user", "content": "x"}], **extra})
    assert caught.value.param == param


def test_a_function_result_must_follow_a_call_of_that_function() -> None:
    messages = [
        {"role": "user", "content": "x"},
        {"role": "function", "name": "search", "content": "found"},
    ]
    with pytest.raises(InvalidRequest) as caught:
        with_tools({"messages": messages})
    assert caught.value.param == "messages[1].name"


def legacy_conversation(turns: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "start"}]
    for name, arguments, result in turns:
        call = {"name": name, "arguments": arguments}
        messages.append({"role": "assistant", "content": None, "function_call": call})
        messages.append({"role": "function", "name": name, "content": result})
    return messages


def tools_conversation(turns: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "start"}]
    for name, arguments, result in turns:
        call_id = f"call_legacy_{len(messages)}"
        function = {"name": name, "arguments": arguments}
        call = {"id": call_id, "type": "function", "function": function}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
    return messages


@given(turns=st.lists(st.tuples(NAMES, ARGUMENTS, TEXT), min_size=1, max_size=4))
def test_a_legacy_conversation_reaches_each_vendor_as_its_tools_twin(
    turns: list[tuple[str, str, str]],
) -> None:
    """Property: calls and results said the legacy way reach Claude and Gemini exactly as the
    same conversation said with tool_calls and tool messages."""
    names = sorted({name for name, _, _ in turns})
    legacy = {"messages": legacy_conversation(turns), "functions": functions_of(names)}
    modern = {
        "messages": tools_conversation(turns),
        "tools": [{"type": "function", "function": f} for f in functions_of(names)],
        "parallel_tool_calls": False,
    }
    for body in (legacy, modern):
        body["model"] = "m"

    def claude(body: dict[str, Any]) -> dict[str, Any]:
        return anthropic_wire.chat_request(body, "c", max_tokens_default=9, stream=False)

    def gemini(body: dict[str, Any]) -> dict[str, Any]:
        return gemini_wire.chat_request(body, fetched_images={})

    assert claude(legacy) == claude(modern)
    assert gemini(legacy) == gemini(modern)


# --- answers ----------------------------------------------------------------------------------


def completion(calls: list[tuple[str, str]], finish: str) -> dict[str, Any]:
    tool_calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)
    ]
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}


@given(calls=st.lists(st.tuples(NAMES, ARGUMENTS), min_size=1, max_size=3))
def test_a_tool_call_answer_becomes_function_call(calls: list[tuple[str, str]]) -> None:
    """Property: the first call is the function_call; no tool_calls are left."""
    choice = legacy_reply(completion(calls, "tool_calls"))["choices"][0]
    assert choice["finish_reason"] == "function_call"
    assert "tool_calls" not in choice["message"]
    assert choice["message"]["function_call"] == {"name": calls[0][0], "arguments": calls[0][1]}


def test_a_text_answer_is_unchanged() -> None:
    body = completion([], "stop")
    body["choices"][0]["message"]["content"] = "hi"
    assert legacy_reply(json.loads(json.dumps(body))) == body


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@given(
    name=NAMES,
    arguments=ARGUMENTS,
    cuts=st.lists(st.integers(0, 200), max_size=5),
    other=st.booleans(),
)
def test_streamed_tool_call_deltas_become_function_call_deltas(
    name: str, arguments: str, cuts: list[int], other: bool
) -> None:
    """Property: however the arguments are split, the function_call deltas join to the first
    call, a second call is not shown, and the stream finishes with "function_call"."""
    bounds = sorted({0, len(arguments), *(min(c, len(arguments)) for c in cuts)})
    start = {"index": 0, "id": "call_1", "type": "function", "function": {"name": name}}
    chunks = [chunk({"role": "assistant", "content": ""}), chunk({"tool_calls": [start]})]
    for a, b in itertools.pairwise(bounds):
        part = {"index": 0, "function": {"arguments": arguments[a:b]}}
        chunks.append(chunk({"tool_calls": [part]}))
    if other:
        second = {"index": 1, "id": "call_2", "function": {"name": "zz", "arguments": "{}"}}
        chunks.append(chunk({"tool_calls": [second]}))
    chunks.append(chunk({}, "tool_calls"))
    out = LegacyChunks()(chunks)
    deltas = [c["choices"][0]["delta"] for c in out]
    assert all("tool_calls" not in delta for delta in deltas)
    calls = [delta["function_call"] for delta in deltas if "function_call" in delta]
    assert "".join(c.get("name", "") for c in calls) == name
    assert "".join(c.get("arguments", "") for c in calls) == arguments
    assert out[-1]["choices"][0]["finish_reason"] == "function_call"
