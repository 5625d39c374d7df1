"""The fake's Responses API as the official SDK reads it: answers whole and streamed, function
calls and their round trip, structured output, cached and reasoning tokens, stored
conversations, and its refusals."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from httpx_sse import connect_sse
from pydantic import BaseModel

from tests.fakes.openai_upstream import CACHED_INPUT_TOKENS, REASONING_TOKENS, FakeOpenAI
from tests.fakes.wire.openai.support import API_KEY, EXPECTED_TEXT, MODEL, expected_arguments
from tests.support import openai_spec

QUESTION = "What is the capital of France today?"
TOOLS: list[openai.types.responses.FunctionToolParam] = [
    {
        "type": "function",
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        "strict": False,
    }
]


class Capital(BaseModel):
    city: str
    country: str


def test_a_plain_answer(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, instructions="Be terse.", input=QUESTION)
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == EXPECTED_TEXT
    assert response.instructions == "Be terse."
    assert response.usage is not None
    assert response.usage.input_tokens == 2 + 7
    assert response.usage.output_tokens == len(EXPECTED_TEXT.split())
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_a_streamed_answer_assembles_as_the_plain_one(client: openai.OpenAI) -> None:
    kinds: list[str] = []
    with client.responses.stream(model=MODEL, input=QUESTION) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_response()
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final.output_text == EXPECTED_TEXT
    assert final.usage is not None
    assert final.usage.output_tokens == len(EXPECTED_TEXT.split())


def test_a_function_call_and_its_round_trip(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input=QUESTION, tools=TOOLS)
    [call] = first.output
    assert call.type == "function_call"
    assert call.name == "search"
    assert call.arguments == expected_arguments()
    with client.responses.stream(model=MODEL, input=QUESTION, tools=TOOLS) as stream:
        streamed = stream.get_final_response()
    [again] = streamed.output
    assert again.type == "function_call"
    assert (again.call_id, again.arguments) == (call.call_id, call.arguments)
    answer = client.responses.create(
        model=MODEL,
        tools=TOOLS,
        input=[
            {"role": "user", "content": QUESTION},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "Paris"},
        ],
    )
    assert answer.output_text == "Echo: Paris"


def test_structured_output_parses(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input=QUESTION, text_format=Capital)
    assert parsed.output_parsed == Capital(city=QUESTION, country=QUESTION)
    chat = client.chat.completions.parse(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], response_format=Capital
    )
    assert chat.choices[0].message.parsed == Capital(city=QUESTION, country=QUESTION)


@pytest.mark.parametrize(
    ("model", "cached", "reasoning"),
    [
        ("fake-cached", CACHED_INPUT_TOKENS, 0),
        ("fake-reasoning", 0, REASONING_TOKENS),
        ("fake-cached-reasoning", CACHED_INPUT_TOKENS, REASONING_TOKENS),
    ],
)
def test_cached_and_reasoning_tokens_are_reported(
    client: openai.OpenAI, model: str, cached: int, reasoning: int
) -> None:
    question = "one two three four five six seven"
    response = client.responses.create(model=model, input=question)
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == cached
    assert response.usage.output_tokens_details.reasoning_tokens == reasoning
    assert response.usage.output_tokens == len(f"Echo: {question}".split()) + reasoning
    assert [item.type for item in response.output] == (
        ["reasoning", "message"] if reasoning else ["message"]
    )
    with client.responses.stream(model=model, input=question) as stream:
        streamed = stream.get_final_response()
    assert streamed.usage == response.usage
    chat = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}]
    )
    assert chat.usage is not None
    assert chat.usage.prompt_tokens_details is not None
    assert chat.usage.prompt_tokens_details.cached_tokens == cached
    assert chat.usage.completion_tokens_details is not None
    assert chat.usage.completion_tokens_details.reasoning_tokens == reasoning


def test_a_stored_response_is_continued_and_an_unknown_one_refused(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="My name is Ann.")
    second = client.responses.create(
        model=MODEL, input="What is it?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert second.usage is not None
    assert first.usage is not None
    # the earlier turn is part of the prompt now
    assert second.usage.input_tokens == first.usage.input_tokens + first.usage.output_tokens + 3
    unstored = client.responses.create(model=MODEL, input="Forget me.", store=False)
    for previous in (unstored.id, "resp_unknown"):
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model=MODEL, input="hi", previous_response_id=previous)
        assert caught.value.code == "previous_response_not_found"


def test_a_short_limit_ends_incomplete_and_a_tiny_one_is_refused(client: openai.OpenAI) -> None:
    words = " ".join(f"w{i}" for i in range(40))
    response = client.responses.create(model=MODEL, input=words, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert response.usage.output_tokens == 16
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hi", max_output_tokens=15)
    assert caught.value.param == "max_output_tokens"


def test_a_stream_that_fails_ends_with_an_error_event(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="fake-stream-error", input="hi", stream=True))
    last = events[-1]
    assert last.type == "error"
    assert last.code == "server_error"
    assert last.message == "The server had an error while processing your request."


@pytest.mark.parametrize(
    "extra",
    [
        {"input": QUESTION, "instructions": "Be terse.", "metadata": {"k": "v"}},
        {"input": QUESTION, "tools": TOOLS},
        {"input": QUESTION, "max_output_tokens": 16, "model": "fake-cached-reasoning"},
        {
            "input": QUESTION,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "a",
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                }
            },
        },
    ],
)
def test_every_answer_is_what_openais_document_allows(
    fake: FakeOpenAI, extra: dict[str, Any]
) -> None:
    body = {"model": MODEL, **extra}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    schema = openai_spec.answer_schema("post", "/v1/responses", 200, "application/json")
    with httpx.Client(base_url=fake.base_url, headers=headers) as http:
        plain = openai_spec.validate_answer(http.post("/responses", json=body), schema)
        with connect_sse(http, "POST", "/responses", json={**body, "stream": True}) as source:
            events = openai_spec.validate_stream(source.iter_sse(), openai_spec.RESPONSE_EVENTS)
    last = events[-1]["response"]
    assert last["status"] == plain["status"]
    assert [item["type"] for item in last["output"]] == [item["type"] for item in plain["output"]]
    assert last["usage"] == plain["usage"]
