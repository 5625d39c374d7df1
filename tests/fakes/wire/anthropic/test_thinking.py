"""Thinking, as the official `anthropic` SDK parses it from the fake: thinking blocks with their
signatures, whole and streamed (`thinking_delta`, `signature_delta`), the two forms by model,
the rules Anthropic enforces with thinking, and a tool loop that sends its thinking back."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import ThinkingBlock, ToolUseBlock

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.anthropic_upstream.thinking import signature_of
from tests.fakes.wire.anthropic.support import (
    EXPECTED_TEXT,
    QUESTION,
    RAW_HEADERS,
    TOOLS,
    create,
    sse_events,
    user_turn,
)

BUDGET = {"type": "enabled", "budget_tokens": 1024}
THOUGHT = f"Thinking about: {QUESTION}"


def test_budget_thinking_comes_first_with_its_signature(client: anthropic.Anthropic) -> None:
    plain = create(client, max_tokens=4096)
    message = create(client, max_tokens=4096, thinking=BUDGET)

    thinking, text = message.content
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.thinking == THOUGHT
    assert thinking.signature == signature_of(THOUGHT)
    assert text.type == "text"
    assert text.text == EXPECTED_TEXT
    # thinking is output: counted in output_tokens, with the answer's
    assert message.usage.output_tokens == plain.usage.output_tokens + len(THOUGHT.split())


def test_stream_sends_thinking_and_signature_deltas(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=4096,
        thinking=BUDGET,
        messages=user_turn("hi there"),
    ) as stream:
        kinds = [
            (event.type, getattr(getattr(event, "delta", None), "type", None))
            for event in stream
            if event.type.startswith(("message", "content_block"))  # not the SDK's own events
        ]
        final = stream.get_final_message()

    assert kinds[:2] == [("message_start", None), ("content_block_start", None)]
    assert ("content_block_delta", "thinking_delta") in kinds
    signature_at = kinds.index(("content_block_delta", "signature_delta"))
    assert kinds[signature_at + 1][0] == "content_block_stop"
    thinking = final.content[0]
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.thinking == "Thinking about: hi there"
    assert thinking.signature == signature_of("Thinking about: hi there")
    assert final.content[1].type == "text"


def test_adaptive_thinking_is_omitted_by_default_on_claude_4_7(client: anthropic.Anthropic) -> None:
    hidden = create(client, model="claude-opus-4-7", thinking={"type": "adaptive"}, max_tokens=4096)
    shown = create(
        client,
        model="claude-opus-4-7",
        thinking={"type": "adaptive", "display": "summarized"},
        output_config={"effort": "high"},
        max_tokens=4096,
    )
    assert isinstance(hidden.content[0], ThinkingBlock)
    assert hidden.content[0].thinking == ""
    assert isinstance(shown.content[0], ThinkingBlock)
    assert shown.content[0].thinking == THOUGHT
    # the hidden thinking is billed all the same
    assert hidden.usage.output_tokens == shown.usage.output_tokens


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1000}}, "greater than or equal to 1024"),
        ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, "must be greater than"),
        ({"model": "claude-opus-4-7", "thinking": BUDGET}, '"thinking.type.enabled" is not'),
        ({"model": "claude-sonnet-4-5", "thinking": {"type": "adaptive"}}, "adaptive thinking"),
        ({"thinking": BUDGET, "output_config": {"effort": "extreme"}}, "output_config.effort"),
        (
            {"thinking": BUDGET, "tools": TOOLS, "tool_choice": {"type": "any"}},
            "forces tool use",
        ),
    ],
)
def test_thinking_rules_are_enforced(
    client: anthropic.Anthropic, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, **{"max_tokens": 4096, **overrides})
    assert message in str(caught.value)


def test_thinking_refuses_a_temperature(fake: FakeAnthropic) -> None:
    # API versions before 2026-10-21 take a temperature, but never one other than 1 with thinking
    body = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": user_turn()}
    plain = httpx.post(f"{fake.base_url}/v1/messages", headers=RAW_HEADERS, json=body)
    refused = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={**body, "thinking": BUDGET, "temperature": 0.5},
    )
    assert plain.status_code == 200
    assert refused.status_code == 400
    assert "`temperature` may only be set to 1" in refused.json()["error"]["message"]


def _first_turn(client: anthropic.Anthropic) -> tuple[list[Any], ToolUseBlock]:
    first = create(client, max_tokens=4096, thinking=BUDGET, tools=TOOLS, messages=user_turn())
    thinking, call = first.content
    assert isinstance(thinking, ThinkingBlock)
    assert isinstance(call, ToolUseBlock)
    return [block.model_dump() for block in first.content], call


def _answer(call: ToolUseBlock, content: list[Any]) -> list[Any]:
    return [
        *user_turn(),
        {"role": "assistant", "content": content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Paris"}],
        },
    ]


def test_a_tool_loop_sends_its_thinking_back(client: anthropic.Anthropic) -> None:
    content, call = _first_turn(client)
    answered = create(
        client, max_tokens=4096, thinking=BUDGET, tools=TOOLS, messages=_answer(call, content)
    )
    assert answered.content[-1].type == "text"

    with pytest.raises(anthropic.BadRequestError) as missing:
        create(
            client,
            max_tokens=4096,
            thinking=BUDGET,
            tools=TOOLS,
            messages=_answer(call, content[1:]),
        )
    assert "must start with a thinking block" in str(missing.value)

    forged = [{**content[0], "thinking": "something else"}, content[1]]
    with pytest.raises(anthropic.BadRequestError) as tampered:
        create(
            client, max_tokens=4096, thinking=BUDGET, tools=TOOLS, messages=_answer(call, forged)
        )
    assert "Invalid `signature`" in str(tampered.value)


def test_stream_wire_format_of_thinking(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "thinking": BUDGET,
            "messages": user_turn("hi"),
            "stream": True,
        },
    )
    events = sse_events(response.text)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[0] == {"type": "thinking", "thinking": "", "signature": ""}
    assert starts[1] == {"type": "text", "text": ""}
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert {"type": "signature_delta", "signature": signature_of("Thinking about: hi")} in [
        d["delta"] for d in deltas if d["index"] == 0
    ]
    assert all(d["delta"]["type"] == "text_delta" for d in deltas if d["index"] == 1)
