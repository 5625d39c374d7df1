"""`reasoning_effort` as Claude thinking: the form each model takes, a budget that always fits in
`max_tokens`, the parameters thinking does not take, the requests that cannot think, and the
thinking blocks an answer carried sent back first in their assistant turn."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_request import chat_request
from infrastructure.adapters.providers.anthropic_thinking import (
    EFFORT_BUDGETS,
    EFFORTS,
    MIN_BUDGET,
    claude_version,
)

USER = {"role": "user", "content": "Why is the sky blue?"}
WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
SIGNED = {"type": "thinking", "thinking": "Rayleigh.", "signature": "sig-1"}


def translate(model: str = "claude-sonnet-4-5", **body: Any) -> dict[str, Any]:
    return chat_request(
        {"messages": [USER], **body}, model, max_tokens_default=200_000, stream=False
    )


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("claude-sonnet-4-5-20250929", (4, 5)),
        ("claude-3-7-sonnet-20250219", (3, 7)),
        ("claude-sonnet-4-20250514", (4, 0)),
        ("claude-opus-4-6", (4, 6)),
        ("claude-opus-5", (5, 0)),
        ("anthropic.claude-opus-4-7", (4, 7)),
        ("claude-latest", None),
    ],
)
def test_the_claude_version_a_name_says(model: str, version: tuple[int, int] | None) -> None:
    assert claude_version(model) == version


@pytest.mark.parametrize(("effort", "budget"), sorted(EFFORT_BUDGETS.items()))
def test_models_before_4_6_think_with_a_budget(effort: str, budget: int) -> None:
    out = translate(reasoning_effort=effort)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert "output_config" not in out


@pytest.mark.parametrize(
    ("model", "effort", "level", "display"),
    [
        ("claude-opus-4-6", "minimal", "low", None),
        ("claude-sonnet-4-6", "medium", "medium", None),
        ("claude-sonnet-4-6", "xhigh", "high", None),  # xhigh comes with Claude 4.7
        ("claude-opus-4-7", "xhigh", "xhigh", "summarized"),
        ("claude-opus-5", "high", "high", "summarized"),
        ("claude-sonnet-4-6", "max", "max", None),
    ],
)
def test_claude_4_6_and_later_think_adaptively(
    model: str, effort: str, level: str, display: str | None
) -> None:
    out = translate(model, reasoning_effort=effort)
    expected: dict[str, Any] = {"type": "adaptive"}
    if display:
        expected["display"] = display  # Claude 4.7 hides its thinking unless asked
    assert out["thinking"] == expected
    assert out["output_config"] == {"effort": level}


def test_no_effort_or_none_asks_for_no_thinking() -> None:
    for body in ({}, {"reasoning_effort": "none"}):
        out = translate(**body)
        assert "thinking" not in out
        assert "output_config" not in out


@pytest.mark.parametrize("effort", ["maximal", 3, True, "", ["high"], {"a": 1}])
def test_an_unknown_effort_is_refused(effort: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(reasoning_effort=effort)
    assert caught.value.param == "reasoning_effort"


def test_sampling_is_not_sent_with_thinking() -> None:
    out = translate(reasoning_effort="low", temperature=0.2, top_p=0.5)
    assert "thinking" in out
    assert "temperature" not in out
    assert "top_p" not in out
    plain = translate(temperature=0.2, top_p=0.5)
    assert plain["temperature"] == 0.2
    assert plain["top_p"] == 0.5


@pytest.mark.parametrize(
    ("max_tokens", "budget"),
    [(100_000, 16384), (20_000, 10_000), (2048, 1024), (2047, None), (500, None)],
)
def test_the_budget_keeps_half_of_max_tokens_for_the_answer(
    max_tokens: int, budget: int | None
) -> None:
    out = translate(reasoning_effort="high", max_tokens=max_tokens)
    assert out["max_tokens"] == max_tokens
    if budget is None:
        assert "thinking" not in out
    else:
        assert out["thinking"]["budget_tokens"] == budget


@given(
    max_tokens=st.integers(1, 200_000),
    effort=st.sampled_from(EFFORTS),
    model=st.sampled_from(["claude-sonnet-4-5", "claude-opus-4-7", "fake-model"]),
    temperature=st.none() | st.floats(0, 2),
)
def test_thinking_always_fits_what_anthropic_takes(
    max_tokens: int, effort: str, model: str, temperature: float | None
) -> None:
    out = translate(model, reasoning_effort=effort, max_tokens=max_tokens, temperature=temperature)
    thinking = out.get("thinking")
    if thinking is None:
        return
    assert effort != "none"
    assert not {"temperature", "top_p", "top_k"} & set(out)
    if thinking["type"] == "enabled":
        assert MIN_BUDGET <= thinking["budget_tokens"] <= out["max_tokens"] // 2
        assert thinking["budget_tokens"] < out["max_tokens"]


@pytest.mark.parametrize(
    "body",
    [
        {"tools": [WEATHER], "tool_choice": "required"},
        {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "weather"}}},
        # a structured answer without tools is a forced tool
        {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}},
    ],
)
def test_a_forced_tool_does_not_think(body: dict[str, Any]) -> None:
    assert "thinking" not in translate(reasoning_effort="high", **body)


def _tool_loop(assistant: dict[str, Any]) -> list[dict[str, Any]]:
    call = {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    return [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [call], **assistant},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
    ]


def test_a_tool_loop_thinks_only_with_its_thinking_sent_back() -> None:
    without = translate(reasoning_effort="high", tools=[WEATHER], messages=_tool_loop({}))
    assert "thinking" not in without
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    out = translate(
        reasoning_effort="high",
        tools=[WEATHER],
        messages=_tool_loop({"thinking_blocks": [SIGNED, redacted]}),
    )
    assert out["thinking"]["type"] == "enabled"
    assistant = out["messages"][1]
    assert assistant["content"][:2] == [SIGNED, redacted]  # first, as Anthropic answered
    assert assistant["content"][2]["type"] == "tool_use"


@pytest.mark.parametrize(
    "blocks",
    [
        "thinking",
        [{"type": "thinking", "thinking": "x"}],  # no signature
        [{"type": "thinking", "thinking": 1, "signature": "s"}],
        [{"type": "redacted_thinking"}],
        [{"type": "text", "text": "x"}],
        [None],
    ],
)
def test_broken_thinking_blocks_are_refused(blocks: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=_tool_loop({"thinking_blocks": blocks}), tools=[WEATHER])
    assert caught.value.param is not None
    assert caught.value.param.startswith("messages[1].thinking_blocks")
