"""OpenAI chat messages → Anthropic `system` + alternating user/assistant turns (pure)."""

from __future__ import annotations

import json
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_thinking import thinking_blocks

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ROLES = "system, developer, user, assistant or tool"


def conversation(messages: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(messages, list):
        raise InvalidRequest("`messages` must be an array.", param="messages")
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"`{where}` must be an object.", param=where)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(text for text in _texts(message.get("content"), where) if text)
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), where)
        elif role == "assistant":
            blocks = _assistant_blocks(message, where)
        elif role == "tool":
            role, blocks = "user", [_tool_result(message, where)]
        else:
            raise InvalidRequest(f"`{where}.role` must be one of {_ROLES}.", param=f"{where}.role")
        if not blocks:
            continue
        # Anthropic requires alternating roles: consecutive turns of one role become one turn.
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise InvalidRequest("`messages` must hold a non-empty user message.", param="messages")
    if turns[0]["role"] != "user":
        raise InvalidRequest(
            "the first non-system message must come from the user", param="messages"
        )
    return "\n\n".join(system), turns


def _parts(content: Any, where: str, *, nullable: bool = False) -> list[tuple[str, Any]]:
    """(param, part) for each part of a message's content; a string is one text part."""
    param = f"{where}.content"
    if isinstance(content, str):
        return [(param, {"type": "text", "text": content})]
    if content is None and nullable:
        return []
    if not isinstance(content, list):
        raise InvalidRequest(f"`{param}` must be a string or an array of parts.", param=param)
    return [(f"{param}[{j}]", part) for j, part in enumerate(content)]


def _text_of(part: Any, param: str, *, refusal: bool = False) -> str | None:
    """The text of a text (or refusal) part; None if the part is of another type."""
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise InvalidRequest(f"`{param}` must be an object with a `type`.", param=param)
    key = {"text": "text", "refusal": "refusal" if refusal else None}.get(part["type"])
    if key is None:
        return None
    text = part.get(key)
    if not isinstance(text, str):
        raise InvalidRequest(f"`{param}.{key}` must be a string.", param=f"{param}.{key}")
    return text


def _unsupported(part: dict[str, Any], param: str) -> InvalidRequest:
    kind = str(part.get("type"))[:40]
    return InvalidRequest(
        f"Content parts of type `{kind}` are not supported by this model.", param=param
    )


def _texts(content: Any, where: str) -> list[str]:
    out = []
    for param, part in _parts(content, where):
        text = _text_of(part, param)
        if text is None:
            raise _unsupported(part, param)
        out.append(text)
    return out


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for param, part in _parts(content, where):
        text = _text_of(part, param)
        if text is not None:
            if text:  # Anthropic rejects empty text blocks
                blocks.append({"type": "text", "text": text})
        elif part["type"] == "image_url":
            blocks.append(_image(part.get("image_url"), f"{param}.image_url"))
        else:
            raise _unsupported(part, param)  # input_audio, file, ...
    return blocks


def _image(image: Any, param: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise InvalidRequest(f"`{param}.url` must be a string.", param=f"{param}.url")
    if url[:5].lower() == "data:":
        header, comma, data = url[5:].partition(",")
        media_type, *options = (item.strip().lower() for item in header.split(";"))
        media_type = "image/jpeg" if media_type == "image/jpg" else media_type
        if not comma or "base64" not in options:
            raise InvalidRequest(f"`{param}.url` must be a base64 data URL.", param=f"{param}.url")
        if media_type not in IMAGE_TYPES:
            raise InvalidRequest(
                f"Images must be JPEG, PNG, GIF or WebP, not `{media_type[:40]}`.",
                param=f"{param}.url",
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url[:8].lower() == "https://" or url[:7].lower() == "http://":
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequest(
        f"`{param}.url` must be an http(s) URL or a base64 data URL.", param=f"{param}.url"
    )


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    if message.get("function_call") is not None:
        param = f"{where}.function_call"
        raise InvalidRequest(f"`{param}` is deprecated; use `tool_calls`.", param=param)
    # the thinking an earlier answer carried comes first, as Anthropic answered it
    blocks = thinking_blocks(message.get("thinking_blocks"), where)
    for param, part in _parts(message.get("content"), where, nullable=True):
        text = _text_of(part, param, refusal=True)
        if text is None:
            raise _unsupported(part, param)
        if text:
            blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    if calls is None:
        return blocks
    if not isinstance(calls, list):
        param = f"{where}.tool_calls"
        raise InvalidRequest(f"`{param}` must be an array.", param=param)
    blocks.extend(_tool_use(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls))
    return blocks


def _tool_use(call: Any, param: str) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or call.get("type", "function") != "function":
        raise InvalidRequest(f"`{param}` must be a function tool call.", param=param)
    call_id, name = call.get("id"), function.get("name")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"`{param}.id` must be a non-empty string.", param=f"{param}.id")
    if not isinstance(name, str) or not name:
        param = f"{param}.function.name"
        raise InvalidRequest(f"`{param}` must be a non-empty string.", param=param)
    return {"type": "tool_use", "id": call_id, "name": name, "input": _arguments(function, param)}


def _arguments(function: dict[str, Any], param: str) -> dict[str, Any]:
    param = f"{param}.function.arguments"
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}  # some clients send "" for a call without arguments
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else None
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(f"`{param}` must be a JSON object.", param=param)
    return parsed


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        param = f"{where}.tool_call_id"
        raise InvalidRequest(f"`{param}` must be a non-empty string.", param=param)
    content = message.get("content")
    text = "".join(_texts(content, where)) if content is not None else ""
    block = {"type": "tool_result", "tool_use_id": call_id}
    if text:
        block["content"] = text
    return block
