"""OpenAI chat completion → Anthropic message, and gateway errors → Anthropic's error shape,
as pure functions. Tolerant: a completion's junk degrades to defaults, never to an exception.

The opposite of `infrastructure.adapters.providers.anthropic_response`; stop reasons map back
so that a round trip keeps the OpenAI finish_reason.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from domains.providers.upstream_failures import BY_CODE
from infrastructure.adapters.providers.anthropic_response import count
from interfaces.http.openai.chat_message import message_text

_STOP = {
    "stop": "end_turn",  # OpenAI does not say whether a stop sequence matched
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# Error type by gateway status; any other 4xx is invalid_request_error, any other 5xx api_error.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# OpenAI error types (as the gateway writes them in a stream) → Anthropic error types.
_FROM_OPENAI = {
    **{kind: kind for kind in _ERROR_TYPES.values()},
    "service_unavailable": "overloaded_error",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def stop_reason(finish_reason: Any) -> str:
    """Anthropic's stop_reason for an OpenAI finish_reason; unknown or missing is end_turn."""
    return _STOP.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"


def usage_block(usage: Any) -> dict[str, int]:
    """OpenAI's prompt_tokens include the cached ones; Anthropic's input_tokens do not."""
    prompt = count(usage, "prompt_tokens") or 0
    cached = min(count(_dict(usage).get("prompt_tokens_details"), "cached_tokens") or 0, prompt)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": count(usage, "completion_tokens") or 0,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def message_id(completion_id: Any) -> str:
    if isinstance(completion_id, str) and completion_id:
        return completion_id if completion_id.startswith("msg_") else f"msg_{completion_id}"
    return f"msg_{uuid.uuid4().hex}"


def tool_use_id(call_id: Any) -> str:
    return call_id if isinstance(call_id, str) and call_id else f"toolu_{uuid.uuid4().hex}"


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's `arguments` as Anthropic's `input` object; what is not a JSON object is
    kept, as text, under `_raw`."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else None
    except (ValueError, RecursionError):
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def chat_to_message(completion: dict[str, Any], *, model: str) -> dict[str, Any]:
    """An OpenAI `chat.completion` → an Anthropic `message` (the first choice only)."""
    completion = _dict(completion)
    choices = completion.get("choices")
    choice = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    message = _dict(choice.get("message"))
    content: list[dict[str, Any]] = []
    if text := message_text(message):
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = _dict(_dict(call).get("function"))
        name = function.get("name")
        content.append(
            {
                "type": "tool_use",
                "id": tool_use_id(_dict(call).get("id")),
                "name": name if isinstance(name, str) else "",
                "input": tool_input(function.get("arguments")),
            }
        )
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": usage_block(completion.get("usage")),
    }


def error_type(status: int) -> tuple[int, str]:
    """(status to send, Anthropic error type) for a gateway status.

    503 (no upstream could serve) is sent as Anthropic's 529 `overloaded_error`, which the
    Anthropic SDKs and coding agents know to retry with backoff.
    """
    if status in (503, 529):
        return 529, "overloaded_error"
    if status in _ERROR_TYPES:
        return status, _ERROR_TYPES[status]
    if 400 <= status < 500:
        return status, "invalid_request_error"
    return (status if status >= 500 else 500), "api_error"


def error_body(status: int, message: str, kind: str | None = None) -> tuple[int, dict[str, Any]]:
    """(status to send, body) in Anthropic's error shape for a gateway error; an upstream's
    failure comes with its `kind` (and status) from the one table of upstream conditions."""
    if kind is None:
        status, kind = error_type(status)
    return status, {"type": "error", "error": {"type": kind, "message": message}}


def stream_error(error: Any) -> dict[str, Any]:
    """An OpenAI stream error object → the data of Anthropic's `error` event."""
    error = _dict(error)
    code = error.get("code")
    answer = BY_CODE.get(code) if isinstance(code, str) else None
    kinds = (
        _FROM_OPENAI.get(k) for k in (error.get("type"), error.get("code")) if isinstance(k, str)
    )
    kind = answer.anthropic_type if answer else next((k for k in kinds if k), "api_error")
    message = error.get("message")
    text = message if isinstance(message, str) and message else "The upstream stream failed."
    return {"type": "error", "error": {"type": kind, "message": text}}
