"""Anthropic Messages request → OpenAI chat request, as a pure function (the front door of
`POST /v1/messages` for models that are not Anthropic's).

The opposite of `infrastructure.adapters.providers.anthropic_request`. Only `InvalidRequest`
(a 400 naming the parameter) leaves it. Text blocks of one turn are joined with a blank line,
as the opposite direction joins system messages. Images inside a `tool_result` move to the
user message that follows the tool messages, since OpenAI tool messages carry text only.
Parameters with no OpenAI meaning (top_k, thinking, service_tier, container, mcp_servers...)
are dropped, and so are `cache_control` marks and `thinking` blocks.
"""

from __future__ import annotations

import math
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_messages import IMAGE_TYPES
from infrastructure.adapters.providers.anthropic_response import arguments_json

_JOIN = "\n\n"
_SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_TOOL_CHOICES: dict[str, Any] = {"auto": "auto", "any": "required", "none": "none"}


def messages_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    _check(isinstance(body, dict), "", "The request body must be a JSON object")
    model, max_tokens = body.get("model"), body.get("max_tokens")
    _check(isinstance(model, str) and model != "", "model", "must be a non-empty string")
    ok = isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 1
    _check(ok, "max_tokens", "must be a positive integer")
    conversation = _conversation(body.get("messages"))
    if not conversation:  # e.g. only thinking blocks: nothing a model could answer
        raise InvalidRequest("`messages` holds nothing to answer.", param="messages")
    messages = [*_system(body.get("system")), *conversation]
    out: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    _sampling(body, out)
    _tools(body, out)
    stream = body.get("stream")
    _check(stream is None or isinstance(stream, bool), "stream", "must be a boolean")
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # the front always reports usage
    return out


def _check(ok: bool, param: str, what: str) -> None:
    if not ok:
        raise InvalidRequest(f"`{param}` {what}." if param else f"{what}.", param=param or None)


def _kind(block: Any, param: str) -> str:
    kind = block.get("type") if isinstance(block, dict) else None
    _check(isinstance(kind, str), param, "must be an object with a string `type`")
    return str(kind)


def _unsupported(kind: str, param: str, what: str = "Content blocks") -> InvalidRequest:
    message = f"{what} of type `{kind[:40]}` are not supported by this model."
    return InvalidRequest(message, param=f"{param}.type")


def _string(block: dict[str, Any], key: str, param: str, *, empty: bool = True) -> str:
    value = block.get(key)
    ok = isinstance(value, str) and (empty or value != "")
    _check(ok, f"{param}.{key}", "must be a string" if empty else "must be a non-empty string")
    return str(value)


# --- messages ----------------------------------------------------------------------------------


def _system(system: Any) -> list[dict[str, Any]]:
    if system is None:
        return []
    texts = [system] if isinstance(system, str) else []
    _check(isinstance(system, (str, list)), "system", "must be a string or an array of blocks")
    for i, block in enumerate(system if isinstance(system, list) else ()):
        if (kind := _kind(block, f"system[{i}]")) != "text":
            raise _unsupported(kind, f"system[{i}]")
        texts.append(_string(block, "text", f"system[{i}]"))
    text = _JOIN.join(text for text in texts if text)
    return [{"role": "system", "content": text}] if text else []


def _conversation(messages: Any) -> list[dict[str, Any]]:
    ok = isinstance(messages, list) and len(messages) > 0
    _check(ok, "messages", "must be a non-empty array")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        _check(isinstance(message, dict), where, "must be an object")
        role, content = message.get("role"), message.get("content")
        _check(role in ("user", "assistant"), f"{where}.role", 'must be "user" or "assistant"')
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        _check(isinstance(content, list), f"{where}.content", "must be a string or an array")
        out.extend(_turn(role, content, f"{where}.content"))
    return out


def _turn(role: str, blocks: list[Any], where: str) -> list[dict[str, Any]]:
    """A user turn: its tool results first (OpenAI wants them right after the assistant's
    tool calls), then one message with its texts and images. An assistant turn: one message
    with its text and its tool calls."""
    allowed = ("text", "image", "tool_result") if role == "user" else ("text", "tool_use")
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        param = f"{where}[{j}]"
        if (kind := _kind(block, param)) in _SKIPPED_BLOCKS:
            continue
        if kind not in allowed:
            raise _unsupported(kind, param)
        if kind == "text" and (text := _string(block, "text", param)):
            parts.append({"type": "text", "text": text})
        elif kind == "image":
            parts.append(_image(block, param))
        elif kind == "tool_use":
            calls.append(_tool_call(block, param))
        elif kind == "tool_result":
            message, images = _tool_result(block, param)
            tools.append(message)
            parts.extend(images)
    texts = [part["text"] for part in parts if part["type"] == "text"]
    if role == "assistant":
        if not texts and not calls:
            return []  # e.g. a turn of thinking blocks only
        reply = {"role": role, "content": _JOIN.join(texts) or None}
        return [{**reply, "tool_calls": calls} if calls else reply]
    if len(texts) == len(parts):
        return [*tools, {"role": role, "content": _JOIN.join(texts)}] if parts else tools
    return [*tools, {"role": role, "content": parts}]


def _image(block: dict[str, Any], param: str) -> dict[str, Any]:
    source: Any = block.get("source")
    param = f"{param}.source"
    kind = _kind(source, param)
    if kind == "base64":
        media_type = _string(source, "media_type", param, empty=False)
        ok = media_type in IMAGE_TYPES  # what the Messages API itself accepts
        _check(ok, f"{param}.media_type", "must be image/jpeg, image/png, image/gif or image/webp")
        url = f"data:{media_type};base64,{_string(source, 'data', param)}"
    elif kind == "url":
        url = _string(source, "url", param, empty=False)
    else:
        raise _unsupported(kind, param, "Image sources")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_result(block: dict[str, Any], param: str) -> tuple[dict[str, Any], list[Any]]:
    call_id = _string(block, "tool_use_id", param, empty=False)
    content, is_error = block.get("content"), block.get("is_error")
    texts = [content] if isinstance(content, str) else []
    images: list[dict[str, Any]] = []
    ok = content is None or isinstance(content, (str, list))
    _check(ok, f"{param}.content", "must be a string or an array of content blocks")
    for k, part in enumerate(content if isinstance(content, list) else ()):
        where = f"{param}.content[{k}]"
        kind = _kind(part, where)
        if kind == "text":
            texts.append(_string(part, "text", where))
        elif kind == "image":
            images.append(_image(part, where))
        else:
            raise _unsupported(kind, where)
    _check(is_error is None or isinstance(is_error, bool), f"{param}.is_error", "must be a boolean")
    text = _JOIN.join(text for text in texts if text)
    if is_error:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _tool_call(block: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = _string(block, "id", param, empty=False)
    name = _string(block, "name", param, empty=False)
    arguments = block.get("input")
    _check(arguments is None or isinstance(arguments, dict), f"{param}.input", "must be an object")
    try:
        text = arguments_json(arguments)
    except (ValueError, RecursionError):
        raise InvalidRequest(f"`{param}.input` must be JSON.", param=f"{param}.input") from None
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


# --- parameters --------------------------------------------------------------------------------


def _sampling(body: dict[str, Any], out: dict[str, Any]) -> None:
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is not None:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            _check(ok and math.isfinite(value) and 0 <= value <= 1, key, "must be in [0, 1]")
            out[key] = value
    stops = body.get("stop_sequences")
    ok = stops is None or (isinstance(stops, list) and all(isinstance(s, str) for s in stops))
    _check(ok, "stop_sequences", "must be an array of strings")
    if stops:
        out["stop"] = stops
    metadata = body.get("metadata")
    _check(metadata is None or isinstance(metadata, dict), "metadata", "must be an object")
    user = (metadata or {}).get("user_id")
    _check(user is None or isinstance(user, str), "metadata.user_id", "must be a string")
    if user:
        out["user"] = user


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = body.get("tools")
    _check(tools is None or isinstance(tools, list), "tools", "must be an array")
    if tools:
        out["tools"] = [_function(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = _kind(choice, "tool_choice")
    if kind == "tool":
        name = _string(choice, "name", "tool_choice", empty=False)
        translated: Any = {"type": "function", "function": {"name": name}}
    else:
        ok = kind in _TOOL_CHOICES
        _check(ok, "tool_choice.type", 'must be "auto", "any", "tool" or "none"')
        translated = _TOOL_CHOICES[kind]
    parallel = choice.get("disable_parallel_tool_use")
    param = "tool_choice.disable_parallel_tool_use"
    _check(parallel is None or isinstance(parallel, bool), param, "must be a boolean")
    if not tools:  # "auto" or "none" without tools mean nothing; "any" or "tool" cannot be met
        _check(kind in ("auto", "none"), "tool_choice", "needs `tools`")
        return
    out["tool_choice"] = translated
    if parallel and kind != "none":
        out["parallel_tool_calls"] = False


def _function(tool: Any, param: str) -> dict[str, Any]:
    _check(isinstance(tool, dict), param, "must be an object")
    if (kind := tool.get("type")) not in (None, "custom"):
        raise _unsupported(str(kind), param, "Tools")  # server tools: web search, bash...
    function: dict[str, Any] = {"name": _string(tool, "name", param, empty=False)}
    if tool.get("description") is not None:
        function["description"] = _string(tool, "description", param)
    schema = tool.get("input_schema")
    _check(isinstance(schema, dict), f"{param}.input_schema", "must be a JSON schema object")
    function["parameters"] = schema
    if isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}
