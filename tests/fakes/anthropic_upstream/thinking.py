"""Thinking as the Messages API checks and answers it: `thinking` (enabled with a budget, adaptive,
disabled) with `output_config.effort`, the rules that come with it (a budget of at least 1,024
and under `max_tokens`, no temperature but 1, top_p from 0.95, no top_k, no forced tool, a tool
loop's assistant turn sent back starting with its thinking), the form each model takes (Claude
4.7 and later refuse a budget, models before 4.6 know no adaptive thinking), and the signatures
of the thinking blocks it answers with, checked when they come back."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.anthropic_upstream.errors import invalid_request

MIN_BUDGET = 1024
EFFORTS = ("low", "medium", "high", "xhigh", "max")
DISPLAYS = ("summarized", "omitted")
_NUMBERS = re.compile(r"(?<![0-9])([0-9]{1,2})(?:[-.]([0-9]{1,2}))?(?![0-9])")


def signature_of(text: str) -> str:
    """The fake's signature of a thinking text (Anthropic's are opaque; this one is checkable)."""
    return "sig_" + hashlib.sha256(("fake-thinking\0" + text).encode()).hexdigest()


def check_replayed(block: dict[str, Any], where: str) -> None:
    """A thinking (or redacted thinking) block sent back in an assistant turn."""
    if block.get("type") == "redacted_thinking":
        if not isinstance(block.get("data"), str) or not block["data"]:
            raise invalid_request(f"{where}.data: Field required")
        return
    text, signature = block.get("thinking"), block.get("signature")
    if not isinstance(text, str):
        raise invalid_request(f"{where}.thinking: Field required")
    if not isinstance(signature, str):
        raise invalid_request(f"{where}.signature: Field required")
    if signature != signature_of(text):
        raise invalid_request(f"{where}: Invalid `signature` in `thinking` block")


def _version(model: str) -> tuple[int, int] | None:
    match = _NUMBERS.search(model) if model.startswith("claude") else None
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


@dataclass(frozen=True, slots=True)
class Thinking:
    """What the reply thinks: shown (`display` summarized) or not (omitted)."""

    shown: bool


def read_thinking(body: dict[str, Any], max_tokens: int, forced_tool: bool) -> Thinking | None:
    """The request's thinking, checked; None when it does not think."""
    config = body.get("thinking")
    effort = _effort(body.get("output_config"))
    if config is None:
        return None
    if not isinstance(config, dict):
        raise invalid_request("thinking: Input should be a valid dictionary")
    kind = config.get("type")
    version = _version(str(body.get("model", "")))
    if kind == "disabled":
        return None
    display = config.get("display")
    if display is not None and display not in DISPLAYS:
        raise invalid_request(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "enabled":
        if version is not None and version >= (4, 7):
            raise invalid_request(
                '"thinking.type.enabled" is not supported for this model. Use '
                '"thinking.type.adaptive" and "output_config.effort" to control thinking '
                "behavior."
            )
        budget = config.get("budget_tokens")
        if type(budget) is not int:
            raise invalid_request("thinking.enabled.budget_tokens: Field required")
        if budget < MIN_BUDGET:
            raise invalid_request(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to "
                f"{MIN_BUDGET}"
            )
        if max_tokens <= budget:
            raise invalid_request("`max_tokens` must be greater than `thinking.budget_tokens`.")
    elif kind == "adaptive":
        if version is not None and version < (4, 6):
            raise invalid_request("adaptive thinking is not supported on this model")
    else:
        raise invalid_request(
            f"thinking: Input tag '{kind}' found using 'type' does not match any of the expected "
            "tags: 'adaptive', 'disabled', 'enabled'"
        )
    _check_sampling(body)
    if forced_tool:
        raise invalid_request("Thinking may not be enabled when `tool_choice` forces tool use.")
    _check_tool_loop(body.get("messages"))
    omitted_by_default = version is not None and version >= (4, 7)
    shown = display == "summarized" or (display is None and not omitted_by_default)
    del effort  # checked; the fake thinks alike at every effort
    return Thinking(shown=shown)


def _effort(config: object) -> str | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        raise invalid_request("output_config: Input should be a valid dictionary")
    effort = config.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise invalid_request(
            "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
        )
    return effort


def _check_sampling(body: dict[str, Any]) -> None:
    temperature, top_p = body.get("temperature"), body.get("top_p")
    if temperature is not None and temperature != 1:
        raise invalid_request(
            "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
        )
    if top_p is not None and not 0.95 <= top_p <= 1:
        raise invalid_request(
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
        )
    if body.get("top_k") is not None:
        raise invalid_request("`top_k` must be unset when thinking is enabled.")


def _check_tool_loop(messages: object) -> None:
    """With thinking, an assistant turn whose tool calls the last message answers must start
    with its thinking."""
    if not isinstance(messages, list) or len(messages) < 2:
        return
    last, before = messages[-1], messages[-2]
    content = last.get("content") if isinstance(last, dict) else None
    answers = isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )
    if not answers or not isinstance(before, dict) or before.get("role") != "assistant":
        return
    blocks = before.get("content")
    first = blocks[0] if isinstance(blocks, list) and blocks else {}
    kind = first.get("type") if isinstance(first, dict) else None
    if kind not in ("thinking", "redacted_thinking"):
        raise invalid_request(
            f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
            f"`redacted_thinking`, but found `{kind}`. When `thinking` is enabled, a final "
            "`assistant` message must start with a thinking block (preceeding the lastmost set "
            "of `tool_use` and `tool_result` blocks)."
        )


def thought_text(last_user_text: str) -> str:
    """What the fake thinks before answering: deterministic, so tests can expect it."""
    return f"Thinking about: {last_user_text}".strip()
