"""OpenAI chat messages → the Gemini system instruction texts and `contents` turns (pure):
text and image parts, replayed tool calls and tool results.

Anything that cannot be said to Gemini raises `InvalidRequest` naming the offending parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_images import image_part
from infrastructure.adapters.providers.gemini_values import obj

# Gemini 3 models refuse a replayed functionCall part without its thought signature. An OpenAI
# client never sends it back, so every replayed tool call turn carries the sentinel Google
# documents for history it did not produce itself.
THOUGHT_SIGNATURE_SENTINEL = "skip_thought_signature_validator"

_SYSTEM_ROLES = ("system", "developer")


def _text_of(content: Any, param: str, *, role: str) -> str:
    """The text of a content that may only hold text (system, tool, assistant)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest("`content` must be a string or an array of parts.", param=param)
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        key = "refusal" if kind == "refusal" else "text"
        if kind not in ("text", "refusal") or not isinstance(part.get(key), str):
            raise InvalidRequest(
                f"A `{role}` message may only hold text parts.", param=f"{param}[{j}]"
            )
        texts.append(part[key])
    return "".join(texts)


def _user_parts(
    content: Any, fetched: Mapping[str, tuple[str, str]], param: str
) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest("`content` must be a string or an array of parts.", param=param)
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            parts.append(image_part(part, fetched, at))
        else:
            raise InvalidRequest(
                f"Content parts of type `{str(kind)[:40]}` cannot be sent to this model.", param=at
            )
    return parts


def _arguments(raw: Any, param: str) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise InvalidRequest("Tool call `arguments` must be a JSON string.", param=param)
    try:
        args = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("Tool call `arguments` is not valid JSON.", param=param) from None
    if not isinstance(args, dict):
        raise InvalidRequest("Tool call `arguments` must be a JSON object.", param=param)
    return args


def _call_parts(
    message: Mapping[str, Any], names: dict[str, str], param: str
) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    legacy = message.get("function_call")
    if calls is None:
        calls = [{"type": "function", "function": legacy}] if legacy is not None else []
    if not isinstance(calls, list):
        raise InvalidRequest("`tool_calls` must be an array.", param=f"{param}.tool_calls")
    parts: list[dict[str, Any]] = []
    for j, raw in enumerate(calls):
        at = f"{param}.tool_calls[{j}]"
        call = obj(raw)
        function = obj(call.get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name or call.get("type", "function") != "function":
            raise InvalidRequest("A tool call must be a function with a `name`.", param=at)
        args = _arguments(function.get("arguments"), f"{at}.function.arguments")
        call_id = call.get("id")
        if isinstance(call_id, str):
            names[call_id] = name
        parts.append({"functionCall": {"name": name, "args": args}})
    if parts:
        parts[0]["thoughtSignature"] = THOUGHT_SIGNATURE_SENTINEL
    return parts


def _response_part(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    response = value if isinstance(value, dict) else {"content": text}
    return {"functionResponse": {"name": name, "response": response}}


def conversation(
    messages: list[Any], fetched: Mapping[str, tuple[str, str]]
) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequest("Each message must be an object.", param=at)
        role, content = message.get("role"), message.get("content")
        if role in _SYSTEM_ROLES:
            system.append(_text_of(content, f"{at}.content", role=str(role)))
            continue
        if role == "user":
            turn_role, parts = "user", _user_parts(content, fetched, f"{at}.content")
        elif role == "assistant":
            text = _text_of(content, f"{at}.content", role="assistant")
            turn_role = "model"
            parts = ([{"text": text}] if text else []) + _call_parts(message, names, at)
        elif role in ("tool", "function"):
            key = "tool_call_id" if role == "tool" else "name"
            ref = message.get(key)
            name = names.get(ref) if role == "tool" and isinstance(ref, str) else ref
            if not isinstance(name, str) or not name:
                raise InvalidRequest(
                    f"`{key}` does not match a tool call of an earlier assistant message.",
                    param=f"{at}.{key}",
                )
            text = _text_of(content, f"{at}.content", role=str(role))
            turn_role, parts = "user", [_response_part(name, text)]
        else:
            raise InvalidRequest(f"Unknown message role `{str(role)[:40]}`.", param=f"{at}.role")
        if not parts:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": turn_role, "parts": parts})
    return system, turns
