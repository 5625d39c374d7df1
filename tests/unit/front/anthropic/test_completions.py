"""An OpenAI chat completion as an Anthropic message: text, tool calls, stop reasons, odd
completions, and errors."""

from __future__ import annotations

import pytest

from infrastructure.adapters.providers.anthropic_response import finish_reason
from interfaces.http.anthropic.translate_response import (
    chat_to_message,
    error_body,
    stop_reason,
)
from tests.unit.front.anthropic.support import completion, text


def test_a_completion_with_text_and_tool_calls() -> None:
    reply = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
            {"id": "call_3", "type": "function", "function": {"name": "bad", "arguments": "{no"}},
        ],
    }
    assert chat_to_message(completion(reply, "tool_calls"), model="gpt-x") == {
        "id": "msg_chatcmpl-abc",
        "type": "message",
        "role": "assistant",
        "model": "gpt-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
            {"type": "tool_use", "id": "call_3", "name": "bad", "input": {"_raw": "{no"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 70,
            "output_tokens": 20,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 0,
        },
    }


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_stop_reasons(finish: str | None, stop: str) -> None:
    message = chat_to_message(completion({"content": "x"}, finish), model="m")
    assert message["stop_reason"] == stop


@pytest.mark.parametrize("finish", ["stop", "length", "tool_calls", "content_filter"])
def test_stop_reasons_round_trip_with_the_upstream_direction(finish: str) -> None:
    assert finish_reason(stop_reason(finish)) == finish


def test_an_empty_or_odd_completion_still_makes_a_message() -> None:
    message = chat_to_message({"choices": [], "usage": None}, model="m")
    assert message["content"] == []
    assert message["id"].startswith("msg_")
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    refusal = completion({"content": None, "refusal": "I can't."}, "content_filter", id="msg_1")
    assert chat_to_message(refusal, model="m")["content"] == [text("I can't.")]
    assert chat_to_message(refusal, model="m")["id"] == "msg_1"


@pytest.mark.parametrize(
    ("status", "sent", "kind"),
    [
        (400, 400, "invalid_request_error"),
        (401, 401, "authentication_error"),
        (403, 403, "permission_error"),
        (404, 404, "not_found_error"),
        (409, 409, "invalid_request_error"),
        (413, 413, "request_too_large"),
        (422, 422, "invalid_request_error"),
        (429, 429, "rate_limit_error"),
        (500, 500, "api_error"),
        (502, 502, "api_error"),
        (503, 529, "overloaded_error"),
        (504, 504, "timeout_error"),
        (529, 529, "overloaded_error"),
        (200, 500, "api_error"),
    ],
)
def test_error_bodies(status: int, sent: int, kind: str) -> None:
    assert error_body(status, "nope") == (
        sent,
        {"type": "error", "error": {"type": kind, "message": "nope"}},
    )
