"""Several choices (`n`) and structured output (`response_format`), whole and streamed, as the
official `openai` SDK parses them from the fake."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes.wire.openai.support import EXPECTED_TEXT, MESSAGES, MODEL, TOOLS, user_turn


class Trip(BaseModel):
    city: str
    nights: int


def test_n_choices_answer_the_same_and_count_each(client: openai.OpenAI) -> None:
    one = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    three = client.chat.completions.create(model=MODEL, messages=MESSAGES, n=3)
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert {c.message.content for c in three.choices} == {EXPECTED_TEXT}
    assert all(c.finish_reason == "stop" and c.logprobs is None for c in three.choices)
    assert one.usage is not None
    assert three.usage is not None
    assert three.usage.prompt_tokens == one.usage.prompt_tokens
    assert three.usage.completion_tokens == 3 * one.usage.completion_tokens


def test_n_choices_stream_interleaved_one_choice_a_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        n=2,
        stream=True,
        stream_options={"include_usage": True},
    )
    texts = {0: "", 1: ""}
    finishes: dict[int, str] = {}
    order: list[int] = []
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        assert len(chunk.choices) <= 1
        for choice in chunk.choices:
            order.append(choice.index)
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason is not None:
                finishes[choice.index] = choice.finish_reason
    assert texts == {0: EXPECTED_TEXT, 1: EXPECTED_TEXT}
    assert finishes == {0: "stop", 1: "stop"}
    assert order[:4] == [0, 1, 0, 1]
    assert usage is not None
    assert usage.completion_tokens == 2 * len(EXPECTED_TEXT.split())


def test_each_choice_calls_the_tool_with_a_call_of_its_own(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, n=2)
    calls = [c.message.tool_calls for c in reply.choices]
    assert all(call is not None and len(call) == 1 for call in calls)
    ids = {call[0].id for call in calls if call is not None}
    assert len(ids) == 2


@pytest.mark.parametrize("n", [0, 129, "2"])
def test_n_out_of_range_is_refused(client: openai.OpenAI, n: object) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=user_turn(), n=n)  # type: ignore[arg-type]
    assert refused.value.param == "n"


def test_a_json_schema_answer_is_a_value_of_the_schema(client: openai.OpenAI) -> None:
    text = "a week in Lyon"
    parsed = client.chat.completions.parse(
        model=MODEL, messages=user_turn(text), response_format=Trip
    )
    assert parsed.choices[0].message.parsed == Trip(city=text, nights=len(text.split()))
    with client.chat.completions.stream(
        model=MODEL, messages=user_turn(text), response_format=Trip
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == parsed.choices[0].message.parsed


def test_json_object_needs_json_said_in_the_conversation(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MODEL, messages=user_turn("plain words"), response_format={"type": "json_object"}
        )
    assert "must contain the word 'json'" in refused.value.message
    reply = client.chat.completions.create(
        model=MODEL, messages=user_turn("answer in JSON"), response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {"query": "answer in JSON"}


def test_a_json_schema_without_a_name_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MODEL,
            messages=user_turn(),
            response_format={"type": "json_schema", "json_schema": {"schema": {}}},  # type: ignore[typeddict-item]
        )
    assert refused.value.param == "response_format.json_schema.name"


FUNCTIONS: Any = [
    {
        "name": "search",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]


def test_legacy_functions_answer_a_function_call(client: openai.OpenAI) -> None:
    text = "weather in Lyon"
    reply = client.chat.completions.create(
        model=MODEL, messages=user_turn(text), functions=FUNCTIONS
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.tool_calls is None
    assert choice.message.function_call is not None
    assert choice.message.function_call.name == "search"
    assert json.loads(choice.message.function_call.arguments) == {"query": text}

    name, arguments, finish = "", "", None
    for chunk in client.chat.completions.create(
        model=MODEL, messages=user_turn(text), functions=FUNCTIONS, stream=True
    ):
        for streamed in chunk.choices:
            call = streamed.delta.function_call
            name += (call.name or "") if call is not None else ""
            arguments += (call.arguments or "") if call is not None else ""
            finish = streamed.finish_reason or finish
    assert (name, json.loads(arguments), finish) == ("search", {"query": text}, "function_call")

    turn: Any = [
        *user_turn(text),
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "search", "arguments": arguments},
        },
        {"role": "function", "name": "search", "content": "sunny"},
    ]
    answer = client.chat.completions.create(model=MODEL, messages=turn, functions=FUNCTIONS)
    assert answer.choices[0].message.content == "Echo: sunny"
    assert answer.choices[0].finish_reason == "stop"
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=user_turn(), functions=[])
    assert refused.value.param == "functions"
