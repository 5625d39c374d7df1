"""Messages API answers as OpenAI chat completions, and their finish reasons."""

from __future__ import annotations

import pytest

from domains.providers.ports import Usage
from infrastructure.adapters.providers.anthropic_wire import (
    chat_response,
    finish_reason,
)
from tests.unit.wire.anthropic.support import MESSAGE


def test_chat_response() -> None:
    body, usage = chat_response(MESSAGE, model="claude-sonnet", created=1700000000)
    assert body == {
        "id": "msg_01",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "claude-x-1",  # the model the upstream says answered
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking now.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                    # the thinking: its text, and the block to send back with the next turn
                    "reasoning_content": "hmm",
                    "thinking_blocks": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"}
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 125,
            "completion_tokens": 30,
            "total_tokens": 155,
            "prompt_tokens_details": {"cached_tokens": 100},
            # estimated from the thinking text: 3 characters, 1 token
            "completion_tokens_details": {"reasoning_tokens": 1},
        },
    }
    # 20 input + 100 read from the cache + 5 written to it (for 5 minutes: no breakdown given)
    assert usage == Usage(
        input_tokens=125, output_tokens=30, cached_tokens=100, cache_write_5m_tokens=5
    )


def test_chat_response_with_only_a_tool_call_and_an_id_given() -> None:
    message = dict(MESSAGE, content=[MESSAGE["content"][3]])  # type: ignore[index]
    body, _ = chat_response(message, model="m", created=1, completion_id="chatcmpl-9")
    assert body["id"] == "chatcmpl-9"
    assert body["choices"][0]["message"]["content"] is None


def test_chat_response_text_only() -> None:
    message = {"id": "m", "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"}
    body, usage = chat_response(message, model="m", created=1)
    assert "tool_calls" not in body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert usage == Usage()


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, None),
    ],
)
def test_finish_reason(stop: str | None, finish: str | None) -> None:
    assert finish_reason(stop) == finish
