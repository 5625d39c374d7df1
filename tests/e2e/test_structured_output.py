"""Structured output and legacy functions on Claude and Gemini, through the running gateway (in
both shapes) to the fake upstreams, with the clients people use for them: the `openai` SDK's
`parse()`, langchain-openai's `with_structured_output` and the Agents SDK's `output_type`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.support.gateway import GatewayProcess
from tests.support.matrix import SEARCH_SCHEMA
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MODELS = ["claude-haiku-4-5", "gemini-2.5-flash"]
QUESTION = "plan a trip to Lyon"
FUNCTIONS: Any = [{"name": "search", "description": "Search the web", "parameters": SEARCH_SCHEMA}]


class Stop(BaseModel):
    city: str
    nights: int


class Trip(BaseModel):
    title: str
    stops: list[Stop]
    note: str | None


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def shape(request: pytest.FixtureRequest) -> GatewayProcess:
    name = "pg_gateway" if request.param == "postgres" else "sqlite_gateway"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def key(shape: GatewayProcess) -> str:
    with shape.admin() as admin:
        return create_tenant(admin, "structured").key


def client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def assert_trip(trip: Trip | None, text: str) -> None:
    """The fakes fill strings with the last user text and integers with its word count."""
    assert isinstance(trip, Trip)
    assert trip.title == text
    assert trip.stops == [Stop(city=text, nights=len(text.split()))]


@pytest.mark.parametrize("model", MODELS)
def test_parse_plain_and_streamed(shape: GatewayProcess, key: str, model: str) -> None:
    sdk = client(shape, key)
    messages: Any = [{"role": "user", "content": QUESTION}]
    plain = sdk.chat.completions.parse(model=model, messages=messages, response_format=Trip)
    assert plain.choices[0].finish_reason == "stop"
    assert plain.choices[0].message.tool_calls in (None, [])
    assert_trip(plain.choices[0].message.parsed, QUESTION)
    with sdk.chat.completions.stream(
        model=model, messages=messages, response_format=Trip
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    assert json.loads(final.choices[0].message.content or "") == json.loads(
        plain.choices[0].message.content or ""
    )
    assert_trip(final.choices[0].message.parsed, QUESTION)


@pytest.mark.parametrize("model", MODELS)
def test_json_object_mode_answers_a_json_object(
    shape: GatewayProcess, key: str, model: str
) -> None:
    reply = client(shape, key).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "answer in JSON please"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)
    assert reply.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", MODELS)
def test_legacy_functions_are_answered_as_function_call(
    shape: GatewayProcess, key: str, model: str
) -> None:
    sdk = client(shape, key)
    question: Any = [{"role": "user", "content": "weather in Lyon"}]
    named: Any = {"name": "search"}
    plain = sdk.chat.completions.create(
        model=model, messages=question, functions=FUNCTIONS, function_call=named
    )
    message = plain.choices[0].message
    assert plain.choices[0].finish_reason == "function_call"
    assert message.tool_calls is None
    assert message.function_call is not None
    assert message.function_call.name == "search"
    assert json.loads(message.function_call.arguments) == {"query": "weather in Lyon"}

    name, arguments, finish = "", "", None
    for chunk in sdk.chat.completions.create(
        model=model, messages=question, functions=FUNCTIONS, stream=True
    ):
        delta = chunk.choices[0].delta
        assert not delta.tool_calls
        if delta.function_call is not None:
            name += delta.function_call.name or ""
            arguments += delta.function_call.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, json.loads(arguments), finish) == (
        "search",
        {"query": "weather in Lyon"},
        "function_call",
    )

    turn: Any = [
        *question,
        {"role": "assistant", "content": None, "function_call": message.function_call.model_dump()},
        {"role": "function", "name": "search", "content": "sunny and 21 degrees"},
    ]
    answer = sdk.chat.completions.create(model=model, messages=turn, functions=FUNCTIONS)
    assert answer.choices[0].message.content == "Echo: sunny and 21 degrees"
    assert answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", MODELS)
def test_langchain_with_structured_output(shape: GatewayProcess, key: str, model: str) -> None:
    chat = ChatOpenAI(
        model=model,
        base_url=f"{shape.base_url}/v1",
        api_key=key,
        max_retries=0,  # type: ignore[arg-type]
    )
    trip = chat.with_structured_output(Trip).invoke(QUESTION)
    assert_trip(trip, QUESTION)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", MODELS)
def test_agents_sdk_output_type_with_and_without_a_tool(
    shape: GatewayProcess, key: str, model: str
) -> None:
    set_tracing_disabled(True)
    sdk = openai.AsyncOpenAI(base_url=f"{shape.base_url}/v1", api_key=key, max_retries=0)
    chat_model = OpenAIChatCompletionsModel(model=model, openai_client=sdk)
    searched: list[str] = []

    @function_tool
    def search(query: str) -> str:
        """Search the web."""
        searched.append(query)
        return "Lyon has good food"

    async def run() -> tuple[Any, Any]:
        bare = Agent(name="planner", model=chat_model, output_type=Trip)
        tooled = Agent(name="planner", model=chat_model, output_type=Trip, tools=[search])
        first = await Runner.run(bare, QUESTION)
        second = await Runner.run(tooled, QUESTION)
        await sdk.close()
        return first.final_output, second.final_output

    bare_trip, tooled_trip = asyncio.run(run())
    assert_trip(bare_trip, QUESTION)
    assert searched == [QUESTION]  # the tool ran first, then the answer came
    assert isinstance(tooled_trip, Trip)


@pytest.mark.parametrize(
    ("model", "extra", "param"),
    [
        ("claude-haiku-4-5", {"functions": FUNCTIONS, "tools": []}, "functions"),
        ("gemini-2.5-flash", {"function_call": "required"}, "function_call"),
        (
            "claude-haiku-4-5",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "array"}},
                }
            },
            "response_format.json_schema.schema",
        ),
        (
            "gemini-2.5-flash",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"properties": {"n": {"$ref": "#"}}}},
                }
            },
            "response_format.json_schema.schema",
        ),
    ],
)
def test_what_cannot_be_translated_is_a_400_naming_the_parameter(
    shape: GatewayProcess, key: str, model: str, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as failure:
        client(shape, key).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "x"}], **extra
        )
    error = failure.value.response.json()["error"]
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
