"""Tool calls, whole and streamed, and the turn after a tool result, as the SDK parses them."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletionMessageParam,
)

from tests.fakes.wire.openai.support import (
    EXPECTED_TEXT,
    MESSAGES,
    MODEL,
    TOOLS,
    expected_arguments,
    only_function_call,
)


def test_tools_plain(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = only_function_call(completion)
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "search"
    assert call.function.arguments == expected_arguments()
    assert json.loads(call.function.arguments) == {"query": "What is the capital of France today?"}
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(call.function.arguments.split())

    again = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    assert only_function_call(again).id == call.id  # deterministic


def test_tool_choice_named_and_none(client: openai.OpenAI) -> None:
    named = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    assert only_function_call(named).function.name == "lookup"

    none = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice="none"
    )
    assert none.choices[0].finish_reason == "stop"
    assert none.choices[0].message.content == EXPECTED_TEXT
    assert none.choices[0].message.tool_calls is None


def test_tools_streamed_matches_plain(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    calls: dict[int, dict[str, Any]] = {}
    argument_pieces = 0
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] = tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
                    argument_pieces += 1

    plain_call = only_function_call(plain)
    assert list(calls) == [0]
    assert calls[0] == {
        "id": plain_call.id,
        "name": plain_call.function.name,
        "arguments": plain_call.function.arguments,
    }
    assert json.loads(calls[0]["arguments"]) == json.loads(expected_arguments())
    assert argument_pieces > 1
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["tool_calls"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert plain.usage is not None
    assert chunks[-1].usage.model_dump() == plain.usage.model_dump()


def test_tool_result_turn_is_answered_with_text(client: openai.OpenAI) -> None:
    call = only_function_call(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    )
    follow_up: list[ChatCompletionMessageParam] = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "Paris is the capital"},
    ]

    completion = client.chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.content == "Echo: Paris is the capital"

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS, stream=True)
    )
    assert all(not c.choices[0].delta.tool_calls for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Echo: Paris is the capital"
    assert chunks[-1].choices[0].finish_reason == "stop"

    # a new user turn after the tool result asks for a tool again
    again = client.chat.completions.create(
        model=MODEL,
        messages=[*follow_up, {"role": "user", "content": "and Spain?"}],
        tools=TOOLS,
    )
    assert json.loads(only_function_call(again).function.arguments) == {"query": "and Spain?"}
