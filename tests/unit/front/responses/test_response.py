"""A chat completion becomes the Responses `response` the official SDK reads: its message and
function calls as output items, its usage with cached and reasoning tokens, its status, and the
request's settings echoed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from openai.types.responses import Response

from interfaces.http.responses.translate_request import responses_to_chat
from interfaces.http.responses.translate_response import chat_to_response, item_id
from tests.support import openai_spec
from tests.unit.front.responses.strategies import json_values, near_completions, valid_requests
from tests.unit.front.responses.support import WEATHER

REQUEST: dict[str, Any] = {
    "model": "gpt-x",
    "input": "Weather in Paris?",
    "instructions": "Be terse.",
    "tools": [WEATHER],
    "tool_choice": "auto",
    "temperature": 0.5,
    "max_output_tokens": 300,
    "metadata": {"ticket": "42"},
    "store": False,
    "previous_response_id": "resp_prev",
    "reasoning": {"effort": "low"},
    "text": {"format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}}},
}
USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 12},
}


def completion(
    message: dict[str, Any], finish: str | None = "stop", **extra: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_005,
        "model": "gpt-x-2025",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
        **extra,
    }


def translate(answer: dict[str, Any], request: dict[str, Any] = REQUEST) -> dict[str, Any]:
    return chat_to_response(
        answer, request, response_id="resp_1", created_at=1_700_000_000, model="gpt-x-2025"
    )


def test_a_text_answer_is_one_message_with_usage_and_the_request_echoed() -> None:
    response = translate(completion({"role": "assistant", "content": "Sunny."}))
    openai_spec.validate(response, "Response")
    parsed = Response.model_validate(response)
    assert parsed.id == "resp_1"
    assert parsed.status == "completed"
    assert parsed.output_text == "Sunny."
    assert parsed.model == "gpt-x-2025"
    assert parsed.created_at == 1_700_000_000
    assert parsed.completed_at == 1_700_000_005
    [item] = response["output"]
    assert item == {
        "id": item_id("message", "resp_1", 0),
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Sunny.", "annotations": [], "logprobs": []}],
    }
    assert response["usage"] == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 150,
    }
    assert parsed.instructions == "Be terse."
    assert parsed.temperature == 0.5
    assert parsed.top_p == 1.0
    assert parsed.max_output_tokens == 300
    assert parsed.metadata == {"ticket": "42"}
    assert response["store"] is False
    assert parsed.previous_response_id == "resp_prev"
    assert parsed.reasoning is not None
    assert parsed.reasoning.effort == "low"
    assert parsed.text is not None
    assert parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"
    assert parsed.tool_choice == "auto"
    assert [tool.type for tool in parsed.tools] == ["function"]
    assert parsed.parallel_tool_calls is True


def test_tool_calls_are_function_call_items_after_the_text() -> None:
    message = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
            },
        ],
    }
    response = translate(completion(message, "tool_calls"))
    parsed = Response.model_validate(response)
    assert [item.type for item in parsed.output] == ["message", "function_call", "function_call"]
    call = response["output"][1]
    assert call == {
        "id": item_id("function_call", "resp_1", 1),
        "type": "function_call",
        "status": "completed",
        "arguments": '{"city":"Paris"}',
        "call_id": "call_a",
        "name": "weather",
    }
    assert response["output"][2]["call_id"] == "call_b"
    assert parsed.status == "completed"


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_a_cut_answer_is_incomplete_with_its_reason(finish: str, reason: str) -> None:
    response = translate(completion({"role": "assistant", "content": "Sun"}, finish))
    parsed = Response.model_validate(response)
    assert parsed.status == "incomplete"
    assert parsed.incomplete_details is not None
    assert parsed.incomplete_details.reason == reason
    assert response["output"][0]["status"] == "incomplete"
    assert parsed.completed_at is None


def test_a_refusal_is_a_refusal_part() -> None:
    response = translate(completion({"role": "assistant", "content": None, "refusal": "I can't."}))
    assert response["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't."}]
    Response.model_validate(response)


def test_defaults_are_openais_when_the_request_says_nothing() -> None:
    response = translate(
        completion({"role": "assistant", "content": "hi"}, usage=None), {"model": "m"}
    )
    parsed = Response.model_validate(response)
    assert "usage" not in response  # unknown: absent, as the document has no null for it
    assert parsed.usage is None
    assert (parsed.temperature, parsed.top_p, parsed.tool_choice, parsed.tools) == (
        1.0,
        1.0,
        "auto",
        [],
    )
    assert response["store"] is True
    assert parsed.text is not None
    assert parsed.text.format is not None
    assert parsed.text.format.type == "text"
    assert parsed.truncation == "disabled"
    assert parsed.metadata == {}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(near_completions | json_values, valid_requests)
def test_any_completion_gives_a_response_the_sdk_reads(answer: Any, request: Any) -> None:
    responses_to_chat(request)  # a request the front door takes
    response = chat_to_response(answer, request, response_id="resp_x", created_at=1, model="m")
    Response.model_validate(response)
    openai_spec.validate(response, "Response")
