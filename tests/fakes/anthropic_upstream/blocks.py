"""A message's content blocks checked as the Messages API checks them: text, images, tool uses
and their results, and the pairing of each tool use with its result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.anthropic_upstream.errors import invalid_request
from tests.fakes.anthropic_upstream.models import (
    API_VERSION_2026,
    IMAGE_MEDIA_TYPES,
    UNSUPPORTED_BLOCKS,
)
from tests.fakes.anthropic_upstream.thinking import check_replayed
from tests.fakes.server import (
    count_words,
)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_text_block(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid_request(f"{where}.text: Input should be a valid string")
    if not text:
        raise invalid_request(
            f"{where.split('.', maxsplit=1)[0]}: text content blocks must be non-empty"
        )
    return text


def _check_image_block(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict):
        raise invalid_request(f"{where}.source: Field required")
    kind = source.get("type")
    if kind == "base64":
        media_type = source.get("media_type")
        if media_type not in IMAGE_MEDIA_TYPES:
            allowed = ", ".join(f"'{m}'" for m in IMAGE_MEDIA_TYPES[:-1])
            raise invalid_request(
                f"{where}.source.base64.media_type: Input should be {allowed} or "
                f"'{IMAGE_MEDIA_TYPES[-1]}'"
            )
        data = source.get("data")
        if not isinstance(data, str) or not data:
            raise invalid_request(f"{where}.source.base64.data: Field required")
    elif kind == "url":
        url = source.get("url")
        if not isinstance(url, str) or not url:
            raise invalid_request(f"{where}.source.url.url: Field required")
    else:
        raise invalid_request(
            f"{where}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'url'"
        )


def _tool_result_text(block: dict[str, Any], where: str) -> tuple[list[str], int]:
    """(echo parts, prompt words) of a ``tool_result`` block's ``content``."""
    content = block.get("content")
    if content is None:
        return [], 0
    if isinstance(content, str):
        return ([content] if content else []), count_words(content)
    if not isinstance(content, list):
        raise invalid_request(f"{where}.content: Input should be a valid string or a valid list")
    parts: list[str] = []
    words = 0
    for k, item in enumerate(content):
        item_where = f"{where}.content.{k}"
        if not isinstance(item, dict):
            raise invalid_request(f"{item_where}: Input should be a valid dictionary")
        kind = item.get("type")
        if kind == "text":
            text = check_text_block(item, item_where)
            parts.append(text)
            words += count_words(text)
        elif kind == "image":
            _check_image_block(item, item_where)
            parts.append("[image]")
            words += 1
        else:
            raise invalid_request(
                f"{item_where}: Input tag '{kind}' found using 'type' does not match any of the "
                "expected tags: 'text', 'image'"
            )
    return parts, words


@dataclass(slots=True)
class _Turn:
    """What one input message contributes."""

    role: str
    words: int = 0
    parts: list[str] = field(default_factory=list)  # echo material: text, [image], tool results
    has_echo: bool = False  # has text, images or tool results
    tool_use_ids: list[str] = field(default_factory=list)
    tool_results: list[tuple[int, str]] = field(default_factory=list)  # (block index, id)


def is_new_api(version: str) -> bool:
    """Whether ``anthropic-version`` selects the 2026-10-21 (or later) request rules."""
    return version >= API_VERSION_2026


def scan_message(index: int, message: object, is_last: bool, new_api: bool) -> _Turn:
    where = f"messages.{index}"
    if not isinstance(message, dict):
        raise invalid_request(f"{where}: Input should be a valid dictionary")
    role = message.get("role")
    if role == "system":
        raise invalid_request(
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
            'parameter, not "system" as an input message role.'
        )
    if role not in ("user", "assistant"):
        raise invalid_request(f"{where}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise invalid_request(f"{where}.content: Field required")
    content = message["content"]
    turn = _Turn(role)
    may_be_empty = role == "assistant" and is_last
    if isinstance(content, str):
        if not content and not may_be_empty:
            raise invalid_request(
                f"{where}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        if content:
            turn.parts.append(content)
            turn.words += count_words(content)
            turn.has_echo = True
    elif isinstance(content, list):
        if not content and not may_be_empty:
            raise invalid_request(
                f"{where}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        for j, block in enumerate(content):
            _scan_block(turn, f"{where}.content.{j}", j, block, new_api)
    else:
        raise invalid_request(f"{where}.content: Input should be a valid string or a valid list")
    if role == "assistant" and is_last and turn.parts and turn.parts[-1] != turn.parts[-1].rstrip():
        raise invalid_request(
            "messages: final assistant content cannot end with trailing whitespace"
        )
    return turn


def _scan_block(turn: _Turn, where: str, j: int, block: object, new_api: bool) -> None:
    if not isinstance(block, dict):
        raise invalid_request(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind == "text":
        if new_api and turn.role == "user" and block.get("citations"):
            raise invalid_request(
                f"{where}.citations: citations are not accepted on text blocks in user messages"
            )
        text = check_text_block(block, where)
        turn.parts.append(text)
        turn.words += count_words(text)
        turn.has_echo = True
    elif kind == "image":
        _check_image_block(block, where)
        turn.parts.append("[image]")
        turn.words += 1
        turn.has_echo = True
    elif kind == "tool_use":
        if turn.role != "assistant":
            raise invalid_request(f"{where}: tool_use blocks can only be in assistant messages")
        tool_id, name, tool_input = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(tool_id, str) or not tool_id:
            raise invalid_request(f"{where}.id: Field required")
        if not isinstance(name, str) or not name:
            raise invalid_request(f"{where}.name: Field required")
        if not isinstance(tool_input, dict):
            raise invalid_request(f"{where}.input: Input should be a valid dictionary")
        turn.tool_use_ids.append(tool_id)
        turn.words += count_words(tool_input_json(tool_input))
    elif kind == "tool_result":
        if turn.role != "user":
            raise invalid_request(f"{where}: tool_result blocks can only be in user messages")
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not tool_use_id:
            raise invalid_request(f"{where}.tool_use_id: Field required")
        is_error = block.get("is_error")
        if is_error is not None and not isinstance(is_error, bool):
            raise invalid_request(f"{where}.is_error: Input should be a valid boolean")
        parts, words = _tool_result_text(block, where)
        turn.parts.extend(parts)
        turn.words += words
        turn.has_echo = True
        turn.tool_results.append((j, tool_use_id))
    elif kind in ("thinking", "redacted_thinking") and turn.role == "assistant":
        check_replayed(block, where)  # replayed reasoning: its signature checked, not counted
    elif kind in UNSUPPORTED_BLOCKS:
        raise invalid_request(
            f"{where}: the fake Anthropic upstream does not support '{kind}' blocks"
        )
    else:
        raise invalid_request(
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
            "tags: 'text', 'image', 'tool_use', 'tool_result'"
        )


def tool_input_json(tool_input: dict[str, Any]) -> str:
    """Tool input as JSON text, as streamed and counted (``", "`` and ``": "`` separators)."""
    return json.dumps(tool_input, ensure_ascii=False)


def check_tool_pairing(turns: list[_Turn]) -> None:
    """Every ``tool_result`` answers a ``tool_use`` of the previous (assistant) message, and every
    ``tool_use`` that is not in the final message is answered in the next message."""
    for i, turn in enumerate(turns):
        previous = turns[i - 1].tool_use_ids if i > 0 and turns[i - 1].role == "assistant" else []
        for j, tool_use_id in turn.tool_results:
            if tool_use_id not in previous:
                raise invalid_request(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {tool_use_id}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
    for i, turn in enumerate(turns[:-1]):
        answered = {tool_use_id for _, tool_use_id in turns[i + 1].tool_results}
        missing = [t for t in turn.tool_use_ids if t not in answered]
        if missing:
            raise invalid_request(
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
