"""OpenAI chat completion → Gemini `GenerateContentResponse`, and gateway errors → Google's error
shape, as pure functions. Tolerant: a completion's junk degrades to defaults, never to an
exception.

The opposite of `infrastructure.adapters.providers.gemini_response`: finish reasons and usage
map back so that a round trip keeps them (`length` ↔ `MAX_TOKENS`, reasoning tokens ↔
`thoughtsTokenCount`, cached tokens ↔ `cachedContentTokenCount`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from interfaces.http.openai.chat_message import message_text

_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "tool_calls": "STOP",
    "function_call": "STOP",
}

# Google's status names (google.rpc.Code) by HTTP status; any other 4xx is INVALID_ARGUMENT,
# any other 5xx INTERNAL.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_decoder = msgspec.json.Decoder()


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(container: Any, key: str) -> int:
    value = _dict(container).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def finish_reason(reason: Any) -> str:
    """Gemini's finishReason for an OpenAI finish_reason: a tool call ends with STOP, as Gemini's
    do; an unknown one is OTHER; none at all (the answer was cut off) is STOP."""
    if not isinstance(reason, str):
        return "STOP"
    return _FINISH.get(reason, "OTHER")


def usage_metadata(usage: Any) -> dict[str, int]:
    """Gemini's usageMetadata for an OpenAI usage: `promptTokenCount` holds the cached tokens,
    as `prompt_tokens` does; reasoning tokens move from the output to `thoughtsTokenCount`."""
    prompt = _count(usage, "prompt_tokens")
    completion = _count(usage, "completion_tokens")
    thoughts = min(
        _count(_dict(usage).get("completion_tokens_details"), "reasoning_tokens"), completion
    )
    cached = min(_count(_dict(usage).get("prompt_tokens_details"), "cached_tokens"), prompt)
    metadata = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion - thoughts,
        "totalTokenCount": prompt + completion,
    }
    if cached:
        metadata["cachedContentTokenCount"] = cached
    if thoughts:
        metadata["thoughtsTokenCount"] = thoughts
    return metadata


def function_args(arguments: Any) -> dict[str, Any]:
    """A tool call's `arguments` (JSON text) as Gemini's `args` object; what is not a JSON
    object is kept, as text, under `_raw`."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    try:
        parsed = _decoder.decode(arguments) if isinstance(arguments, str) else None
    except (msgspec.DecodeError, RecursionError):
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def function_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any] | None:
    """A tool call as a Gemini `functionCall` part; None for a call without a name (junk an
    upstream sent: Gemini has no call without one)."""
    if not isinstance(name, str) or not name:
        return None
    call: dict[str, Any] = {"name": name, "args": function_args(arguments)}
    if isinstance(call_id, str) and call_id:
        call = {"id": call_id, **call}
    return {"functionCall": call}


def reasoning_text(message: Mapping[str, Any]) -> str:
    """The reasoning an OpenAI-compatible upstream shows (`reasoning_content`, `reasoning`)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def candidate_index(choice: Mapping[str, Any], fallback: int) -> int:
    index = choice.get("index")
    return (
        index if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else fallback
    )


def chat_to_gemini(
    completion: Any, *, model: str, response_id: str, thoughts: bool = False
) -> dict[str, Any]:
    """An OpenAI `chat.completion` → a Gemini `GenerateContentResponse`, one candidate per
    choice. `thoughts`: the request asked for thought summaries (`includeThoughts`), so the
    upstream's reasoning text comes first, as a `thought` part."""
    completion = _dict(completion)
    choices = completion.get("choices")
    candidates: list[dict[str, Any]] = []
    for position, item in enumerate(choices if isinstance(choices, list) else ()):
        choice = _dict(item)
        message = _dict(choice.get("message"))
        parts: list[dict[str, Any]] = []
        if thoughts and (reasoning := reasoning_text(message)):
            parts.append({"text": reasoning, "thought": True})
        if text := message_text(message):
            parts.append({"text": text})
        calls = message.get("tool_calls")
        for call in map(_dict, calls if isinstance(calls, list) else ()):
            function = _dict(call.get("function"))
            part = function_call(call.get("id"), function.get("name"), function.get("arguments"))
            if part is not None:
                parts.append(part)
        candidates.append(
            {
                "content": {"parts": parts, "role": "model"},
                "finishReason": finish_reason(choice.get("finish_reason")),
                "index": candidate_index(choice, position),
            }
        )
    if not candidates:
        candidates.append(
            {"content": {"parts": [], "role": "model"}, "finishReason": "STOP", "index": 0}
        )
    candidates.sort(key=lambda candidate: int(candidate["index"]))
    named = completion.get("id")
    return {
        "candidates": candidates,
        "usageMetadata": usage_metadata(completion.get("usage")),
        "modelVersion": model,
        "responseId": named if isinstance(named, str) and named else response_id,
    }


# --- errors ------------------------------------------------------------------------------------


def status_name(status: int) -> str:
    if status in _STATUS_NAMES:
        return _STATUS_NAMES[status]
    return "INVALID_ARGUMENT" if 400 <= status < 500 else "INTERNAL"


def google_error(status: int, message: str, retry_after: str | None = None) -> dict[str, Any]:
    """Google's error body: `{"error": {"code", "message", "status"}}`, with the `RetryInfo`
    detail Google's clients read when the caller is told when to retry."""
    error: dict[str, Any] = {"code": status, "message": message, "status": status_name(status)}
    seconds = retry_after.strip() if retry_after else ""
    if seconds.isascii() and seconds.isdigit():
        error["details"] = [{"@type": RETRY_INFO, "retryDelay": f"{int(seconds)}s"}]
    return {"error": error}
