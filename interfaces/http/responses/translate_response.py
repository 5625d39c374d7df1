"""OpenAI chat completion → OpenAI Responses `response` object, as pure functions. Tolerant: a
completion's junk degrades to defaults, never to an exception.

The response echoes the request's settings as OpenAI's does (instructions, tools, tool_choice,
temperature, top_p, text format, reasoning, metadata, store...), with OpenAI's defaults for
what the request left out. Its output is the answer's reasoning (a `reasoning` item, see
`reasoning_items`) when it tells any, the answer's message (its text as `output_text`, a
refusal as `refusal`), then one `function_call` item per tool call. A `length` finish makes it
`incomplete` for `max_output_tokens`, a `content_filter` one for `content_filter`.

Item ids derive from the response id and the item's place, so the whole answer and the stream
of the same answer name their items alike.
"""

from __future__ import annotations

import hashlib
from typing import Any

from infrastructure.adapters.providers.anthropic_response import count
from interfaces.http.responses.reasoning_items import reasoning_item, summary_asked, thinking_blocks

_PREFIX = {"message": "msg", "function_call": "fc", "reasoning": "rs"}
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_ERROR_CODES = {
    "rate_limit_error": "rate_limit_exceeded",
    "rate_limit_exceeded": "rate_limit_exceeded",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def item_id(kind: str, response_id: str, index: int) -> str:
    """The id of the `index`-th output item (of `kind`) of a response."""
    digest = hashlib.sha256(f"{response_id}:{index}".encode()).hexdigest()[:48]
    return f"{_PREFIX.get(kind, 'item')}_{digest}"


def status_of(finish_reason: Any) -> tuple[str, str | None]:
    """(the response's status, the reason it is incomplete) for a chat finish_reason."""
    reason = _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    return ("incomplete", reason) if reason else ("completed", None)


def response_usage(usage: Any) -> dict[str, Any] | None:
    """A chat usage object in the Responses shape (cached input and reasoning output tokens
    included); None when the answer reported none."""
    if not isinstance(usage, dict):
        return None
    prompt = count(usage, "prompt_tokens") or 0
    completion = count(usage, "completion_tokens") or 0
    cached = min(count(_dict(usage.get("prompt_tokens_details")), "cached_tokens") or 0, prompt)
    details = _dict(usage.get("completion_tokens_details"))
    reasoning = min(count(details, "reasoning_tokens") or 0, completion)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def error_object(error: Any) -> dict[str, Any]:
    """A chat stream's error object as a Responses `error` (code, message)."""
    error = _dict(error)
    kinds = [k for k in (error.get("code"), error.get("type")) if isinstance(k, str)]
    code = next((_ERROR_CODES[k] for k in kinds if k in _ERROR_CODES), "server_error")
    message = error.get("message")
    text = message if isinstance(message, str) and message else "The upstream failed."
    return {"code": code, "message": text}


def message_item(
    item_id_: str, text: str, refusal: str, *, status: str = "completed"
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "id": item_id_,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def call_item(
    item_id_: str, call_id: str, name: str, arguments: str, *, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id_,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def response_object(
    request: Any,
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    incomplete_reason: str | None = None,
    error: dict[str, Any] | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    """A Responses `response` object, echoing the request's settings."""
    request = _dict(request)
    text = _dict(request.get("text"))
    reasoning = _dict(request.get("reasoning"))
    fmt = text.get("format")
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": completed_at if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": _typed(request, "instructions", str),
        "max_output_tokens": _typed(request, "max_output_tokens", int),
        "max_tool_calls": _typed(request, "max_tool_calls", int),
        "model": model,
        "output": output,
        "parallel_tool_calls": _typed(request, "parallel_tool_calls", bool, True),
        "previous_response_id": _typed(request, "previous_response_id", str),
        "prompt_cache_key": _typed(request, "prompt_cache_key", str),
        "reasoning": {
            "effort": _typed(reasoning, "effort", str),
            "summary": _typed(reasoning, "summary", str),
        },
        "safety_identifier": _typed(request, "safety_identifier", str),
        "service_tier": "default",
        "store": _typed(request, "store", bool, True),
        "temperature": _number(request, "temperature", 1.0),
        "text": {
            "format": fmt if isinstance(fmt, dict) else {"type": "text"},
            "verbosity": _typed(text, "verbosity", str, "medium"),
        },
        "tool_choice": _tool_choice(request.get("tool_choice")),
        "tools": _tools(request.get("tools")),
        "top_logprobs": _typed(request, "top_logprobs", int, 0),
        "top_p": _number(request, "top_p", 1.0),
        "truncation": _typed(request, "truncation", str, "disabled"),
        "metadata": _typed(request, "metadata", dict, {}),
    }
    # OpenAI's document has no null for these: absent until known
    if usage is not None:
        response["usage"] = usage
    if isinstance(user := request.get("user"), str):
        response["user"] = user
    return response


def chat_to_response(
    completion: dict[str, Any],
    request: dict[str, Any],
    *,
    response_id: str,
    created_at: int,
    model: str,
) -> dict[str, Any]:
    """An OpenAI `chat.completion` (its first choice) → a Responses `response` object."""
    completion = _dict(completion)
    choices = completion.get("choices")
    choice = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    message = _dict(choice.get("message"))
    status, reason = status_of(choice.get("finish_reason"))
    item_status = "incomplete" if status == "incomplete" else "completed"
    output: list[dict[str, Any]] = []
    thinking = message.get("reasoning_content")
    thinking = thinking if isinstance(thinking, str) else ""
    blocks = thinking_blocks(message.get("thinking_blocks"))
    if thinking or blocks:
        rid = item_id("reasoning", response_id, 0)
        summarized = summary_asked(request)
        output.append(reasoning_item(rid, thinking, blocks, summarized=summarized))
    text, refusal = _text(message.get("content")), message.get("refusal")
    refusal = refusal if isinstance(refusal, str) else ""
    if text or refusal:
        mid = item_id("message", response_id, len(output))
        output.append(message_item(mid, text, refusal, status=item_status))
    calls = message.get("tool_calls")
    for call in map(_dict, calls if isinstance(calls, list) else ()):
        function = _dict(call.get("function"))
        name, arguments, call_id = function.get("name"), function.get("arguments"), call.get("id")
        index = len(output)
        output.append(
            call_item(
                item_id("function_call", response_id, index),
                call_id if isinstance(call_id, str) and call_id else f"call_{response_id}_{index}",
                name if isinstance(name, str) else "",
                arguments if isinstance(arguments, str) else "{}",
                status=item_status,
            )
        )
    return response_object(
        request,
        response_id=response_id,
        created_at=created_at,
        model=model,
        status=status,
        output=output,
        usage=response_usage(completion.get("usage")),
        incomplete_reason=reason,
        completed_at=_finished_at(completion.get("created"), created_at),
    )


def _finished_at(created: Any, started: int) -> int:
    """When the answer was made: the completion's own time, else the response's start."""
    ok = isinstance(created, int) and not isinstance(created, bool) and created >= started
    return int(created) if ok else started


def _text(content: Any) -> str:
    if isinstance(content, list):  # some upstreams answer with text parts
        parts = (_dict(part).get("text") for part in content)
        content = "".join(part for part in parts if isinstance(part, str))
    return content if isinstance(content, str) else ""


def _typed(source: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = source.get(key)
    if isinstance(value, bool) and kind is not bool:
        return default
    return value if isinstance(value, kind) else default


def _number(source: dict[str, Any], key: str, default: float) -> float:
    value = source.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        return float(value) if ok else default  # type: ignore[arg-type]
    except OverflowError:
        return default


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required") or isinstance(choice, dict):
        return choice
    return "auto"


def _tools(tools: Any) -> list[dict[str, Any]]:
    """The request's tools as OpenAI echoes them: function tools with their defaults."""
    echoed: list[dict[str, Any]] = []
    for tool in map(_dict, tools if isinstance(tools, list) else ()):
        if tool.get("type") == "function":
            echoed.append({"description": None, "parameters": None, "strict": True, **tool})
        elif tool:
            echoed.append(tool)
    return echoed
