"""Gemini answers as OpenAI chat completions: text, usage, function calls, candidates, blocked
prompts and finish reasons."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domains.providers.ports import Usage
from infrastructure.adapters.providers.gemini_wire import (
    chat_response,
    finish_reason,
)

# --- chat_response ---------------------------------------------------------------------------

USAGE = {
    "promptTokenCount": 100,
    "candidatesTokenCount": 20,
    "thoughtsTokenCount": 5,
    "cachedContentTokenCount": 60,
    "totalTokenCount": 125,
}


def respond(resp: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    return chat_response(
        resp, model="gemini-2.5-flash", created=1700000000, completion_id="chatcmpl-1"
    )


def test_chat_response_with_text_and_usage() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking...", "thought": True},
                        {"text": "Hello"},
                        {"text": " there"},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": USAGE,
        "modelVersion": "gemini-2.5-flash-001",
    }
    body, usage = respond(resp)
    assert body == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gemini-2.5-flash-001",  # the modelVersion the upstream answered
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello there",
                    "refusal": None,
                    "reasoning_content": "thinking...",  # the thought summary
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 25,
            "total_tokens": 125,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 5},
        },
    }
    assert usage == Usage(input_tokens=100, output_tokens=25, cached_tokens=60, reasoning_tokens=5)


def test_chat_response_with_function_calls() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {
                                "name": "weather",
                                "args": {"city": "Paris", "days": 2},
                            },
                            "thoughtSignature": "abc",
                        },
                        {"functionCall": {"name": "time"}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    body, usage = respond(resp)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [call["function"] for call in calls] == [
        {"name": "weather", "arguments": '{"city":"Paris","days":2}'},
        {"name": "time", "arguments": "{}"},
    ]
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", call["id"]) for call in calls)
    assert calls[0]["id"] != calls[1]["id"]
    assert calls == respond(resp)[0]["choices"][0]["message"]["tool_calls"]  # deterministic
    assert usage == Usage()


def test_several_candidates() -> None:
    resp = {
        "candidates": [
            {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1},
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
        ]
    }
    choices = respond(resp)[0]["choices"]
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


def test_a_blocked_prompt_is_a_content_filter_choice() -> None:
    resp = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}}
    body, usage = respond(resp)
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None, "refusal": None},
            "logprobs": None,
            "finish_reason": "content_filter",
        }
    ]
    assert usage == Usage(input_tokens=7)


def test_a_filtered_candidate_without_content() -> None:
    body, _ = respond({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]})
    assert body["choices"][0]["message"] == {"role": "assistant", "content": None, "refusal": None}
    assert body["choices"][0]["finish_reason"] == "content_filter"


# --- finish_reason ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gemini", "openai"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
        ("LANGUAGE", "stop"),
        ("SOMETHING_NEW", "stop"),
        (None, None),
    ],
)
def test_finish_reason(gemini: str | None, openai: str | None) -> None:
    assert finish_reason(gemini) == openai
