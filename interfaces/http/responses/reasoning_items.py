"""Reasoning in the Responses API for translated answers, as pure functions: the `reasoning`
output item a chat answer's reasoning becomes, and the thinking a reasoning item of the input
carries back.

A chat answer tells its reasoning in `reasoning_content` (the text: Claude's thinking, Gemini's
thought summaries) and, from Anthropic, `thinking_blocks` (each block with Anthropic's
signature). The reasoning item's `summary` is that text, as one `summary_text` part, when the
request asked for a summary (`reasoning.summary`), else empty. Its `encrypted_content` is the
thinking blocks, opaque to the client, so that a later turn that sends the item back (or
continues with `previous_response_id`) gives Claude its own thinking again, as Anthropic requires
within a tool loop; it is null for an upstream that has no such blocks. The content is not
encrypted by the gateway: the signatures are Anthropic's own, checked by Anthropic.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from domains.providers.errors import InvalidRequest

ENCRYPTED_PREFIX = "fluxrouter-thinking-v1:"
SUMMARIES = ("auto", "concise", "detailed")
_decoder = msgspec.json.Decoder()


def summary_asked(request: Any) -> bool:
    """Whether the Responses request asked for a reasoning summary."""
    reasoning = request.get("reasoning") if isinstance(request, dict) else None
    if not isinstance(reasoning, dict):
        return False
    return any(reasoning.get(key) in SUMMARIES for key in ("summary", "generate_summary"))


def encrypted_content(blocks: list[dict[str, Any]]) -> str | None:
    """Anthropic thinking blocks as a reasoning item's `encrypted_content` (None for none)."""
    if not blocks:
        return None
    return ENCRYPTED_PREFIX + base64.urlsafe_b64encode(msgspec.json.encode(blocks)).decode()


def thinking_of(item: dict[str, Any], param: str) -> list[dict[str, Any]]:
    """The thinking blocks a reasoning item of the input carries back: those of its
    `encrypted_content` when the gateway made it, none otherwise (another upstream's reasoning,
    which no translated upstream can read)."""
    content = item.get("encrypted_content")
    if not isinstance(content, str) or not content.startswith(ENCRYPTED_PREFIX):
        return []
    where = f"{param}.encrypted_content"
    try:
        raw = base64.urlsafe_b64decode(content[len(ENCRYPTED_PREFIX) :].encode("ascii"))
        blocks = _decoder.decode(raw)
    except (ValueError, binascii.Error, msgspec.DecodeError, RecursionError):
        blocks = None
    if not isinstance(blocks, list) or not all(_is_block(block) for block in blocks):
        raise InvalidRequest(
            f"`{where}` is not the reasoning of an answer of this gateway.", param=where
        )
    return blocks


def _is_block(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    if block.get("type") == "thinking":
        signature = block.get("signature")
        return (
            isinstance(block.get("thinking"), str)
            and isinstance(signature, str)
            and signature != ""
        )
    data = block.get("data")
    return block.get("type") == "redacted_thinking" and isinstance(data, str) and data != ""


def reasoning_item(
    item_id: str,
    text: str,
    blocks: list[dict[str, Any]],
    *,
    summarized: bool,
    status: str = "completed",
) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": text}] if summarized and text else []
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": summary,
        "encrypted_content": encrypted_content(blocks),
        "status": status,
    }


def thinking_blocks(value: Any) -> list[dict[str, Any]]:
    """The well-formed thinking blocks of a chat message's (or delta's) `thinking_blocks`."""
    return [block for block in value if _is_block(block)] if isinstance(value, list) else []
