"""OpenAI's `reasoning_effort` as Claude thinking, and replayed thinking blocks, as pure
functions (part of `anthropic_request`).

Two forms, by the Claude version the model's name says (`claude-sonnet-4-6`, `claude-opus-5`,
`claude-3-7-sonnet-20250219`: the first number is the major version, the next one the minor):

- Claude 4.6 and later: adaptive thinking, `thinking: {"type": "adaptive"}` with
  `output_config.effort` (minimal and low → low, medium → medium, high → high, xhigh → xhigh
  from Claude 4.7 on and high before, max → max). From Claude 4.7 on, `display: "summarized"`
  asks for the thinking text those models leave out by default.
- Earlier models, and names that carry no version: extended thinking with a budget,
  `thinking: {"type": "enabled", "budget_tokens": N}`, N by `EFFORT_BUDGETS` but at most half of
  the request's `max_tokens` (thinking counts inside it; half is kept for the answer). A budget
  that would fall under Anthropic's floor of 1,024 tokens means no thinking.

`none` asks for no thinking: nothing is sent, the model's own default applies. Thinking is also
left out when the request forces a tool (`tool_choice` required or a function, or a structured
answer said with a forced tool): Anthropic refuses thinking with a forced tool; and when the
request answers tool calls whose assistant turn came back without its thinking blocks (Anthropic
refuses to think on in a tool loop whose thinking it is not shown). With thinking on,
`temperature`, `top_p` and `top_k` are not sent: Anthropic takes none of them with thinking.
"""

from __future__ import annotations

import re
from typing import Any

from domains.providers.errors import InvalidRequest

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
EFFORT_BUDGETS = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 65536,
}
MIN_BUDGET = 1024
_ADAPTIVE_EFFORT = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "max",
}
_NUMBERS = re.compile(r"(?<![0-9])([0-9]{1,2})(?:[-.]([0-9]{1,2}))?(?![0-9])")
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model's name, None when it names no version. A trailing
    8-digit date is not a version."""
    match = _NUMBERS.search(model)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def effort_of(body: dict[str, Any]) -> str | None:
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in EFFORTS:
        raise InvalidRequest(
            f"`reasoning_effort` must be one of {', '.join(EFFORTS)}.", param="reasoning_effort"
        )
    return effort


def add_thinking(body: dict[str, Any], out: dict[str, Any]) -> None:
    """Asks `out` (the Anthropic request, sampling and tools already set) to think as
    `body["reasoning_effort"]` says, when Anthropic's rules allow it."""
    effort = effort_of(body)
    if effort is None or effort == "none":
        return
    choice = out.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return
    if _tool_loop_without_thinking(out.get("messages")):
        return
    version = claude_version(str(out.get("model", "")))
    if version is not None and version >= (4, 6):
        thinking: dict[str, Any] = {"type": "adaptive"}
        if version >= (4, 7):
            thinking["display"] = "summarized"
        level = _ADAPTIVE_EFFORT[effort]
        if level == "xhigh" and version < (4, 7):
            level = "high"
        out["thinking"] = thinking
        out["output_config"] = {**out.get("output_config", {}), "effort": level}
    else:
        budget = min(EFFORT_BUDGETS[effort], int(out["max_tokens"]) // 2)
        if budget < MIN_BUDGET:
            return
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    for key in ("temperature", "top_p", "top_k"):
        out.pop(key, None)


def _tool_loop_without_thinking(messages: Any) -> bool:
    """Whether the request answers tool calls of an assistant turn that does not start with
    its thinking."""
    if not isinstance(messages, list) or len(messages) < 2:
        return False
    last, before = messages[-1], messages[-2]
    answers = any(block.get("type") == "tool_result" for block in last.get("content", ()))
    if not answers or before.get("role") != "assistant":
        return False
    content = before.get("content") or [{}]
    return content[0].get("type") not in THINKING_BLOCKS


def thinking_blocks(raw: Any, where: str) -> list[dict[str, Any]]:
    """An assistant message's `thinking_blocks` (as the answers carry them: `{"type":
    "thinking", "thinking", "signature"}` or `{"type": "redacted_thinking", "data"}`) as
    Anthropic content blocks."""
    param = f"{where}.thinking_blocks"
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest(f"`{param}` must be an array.", param=param)
    blocks = []
    for j, block in enumerate(raw):
        at = f"{param}[{j}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking":
            text, signature = block.get("thinking"), block.get("signature")
            if not isinstance(text, str) or not isinstance(signature, str) or not signature:
                raise InvalidRequest(
                    f"`{at}` must carry a string `thinking` and its `signature`.", param=at
                )
            blocks.append({"type": "thinking", "thinking": text, "signature": signature})
        elif kind == "redacted_thinking":
            data = block.get("data")
            if not isinstance(data, str) or not data:
                raise InvalidRequest(f"`{at}.data` must be a non-empty string.", param=at)
            blocks.append({"type": "redacted_thinking", "data": data})
        else:
            raise InvalidRequest(
                f'`{at}` must be a "thinking" or "redacted_thinking" block.', param=at
            )
    return blocks
